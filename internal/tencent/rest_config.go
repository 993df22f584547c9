package tencent

import (
	"context"
	"errors"
	"fmt"
)

// CallbackConfig is an app's callback configuration: the one URL Tencent
// sends callbacks to, and the callback commands it sends.
type CallbackConfig struct {
	// URL starts with http:// or https://.
	URL string
	// Commands are CallbackCommand values, e.g. [CommandAfterCreateRoom].
	// Tencent's own sample lists [CommandUpdateRoomInfo], the older
	// spelling.
	Commands []string
}

// callbackBody is the body of set_callback and update_callback, and the
// Response of get_callback (trtc.io/document/60728, 60730).
type callbackBody struct {
	URL      *string   `json:"Url"`
	Commands *[]string `json:"CallbackCommandList"`
}

func bodyOf(cfg CallbackConfig) callbackBody {
	commands := cfg.Commands
	if commands == nil {
		commands = []string{} // mandatory: an empty list, not null
	}
	return callbackBody{URL: &cfg.URL, Commands: &commands}
}

type getCallbackAnswer struct {
	Response *callbackBody `json:"Response"`
}

// none reports whether the answer says the app has no callback
// configuration: no Response, or one without a Url (or an empty one).
// Tencent documents no answer for that case; roomsync takes these, as it
// takes FAIL 100301, to mean none.
func (a *getCallbackAnswer) none() bool {
	return a.Response == nil || a.Response.URL == nil || *a.Response.URL == ""
}

func (a *getCallbackAnswer) check() error {
	if !a.none() && a.Response.Commands == nil {
		return errors.New("Response.Url without Response.CallbackCommandList")
	}
	return nil
}

// errNoCallbackURL is GetCallback's error for an OK answer that says the
// app has no callback configuration.
var errNoCallbackURL = fmt.Errorf("%s: the answer has no Response.Url: %w", CommandGetCallback, ErrCallbackNotFound)

// GetCallback returns the app's callback configuration. An error matches
// ErrCallbackNotFound when the app has none: FAIL with ErrorCode 100301, or
// OK without a Response, or with a Response whose Url is missing or empty
// (what Tencent answers for an app without one is undocumented). It
// matches ErrBadAnswer when the answer has a Url but no
// Response.CallbackCommandList, or either is not of the documented type.
func (c *RESTClient) GetCallback(ctx context.Context) (CallbackConfig, error) {
	a := &getCallbackAnswer{}
	if err := c.call(ctx, ServiceConfig, CommandGetCallback, struct{}{}, a); err != nil {
		return CallbackConfig{}, err
	}
	if a.none() {
		return CallbackConfig{}, errNoCallbackURL
	}
	return CallbackConfig{URL: *a.Response.URL, Commands: *a.Response.Commands}, nil
}

// SetCallback creates the app's callback configuration.
func (c *RESTClient) SetCallback(ctx context.Context, cfg CallbackConfig) error {
	return c.call(ctx, ServiceConfig, CommandSetCallback, bodyOf(cfg), &okAnswer{})
}

// UpdateCallback replaces the app's callback configuration. An error
// matches ErrCallbackNotFound when the app has none (use SetCallback).
func (c *RESTClient) UpdateCallback(ctx context.Context, cfg CallbackConfig) error {
	return c.call(ctx, ServiceConfig, CommandUpdateCallback, bodyOf(cfg), &okAnswer{})
}

// DeleteCallback removes the app's callback configuration: Tencent sends
// no callbacks to the app afterwards.
func (c *RESTClient) DeleteCallback(ctx context.Context) error {
	return c.call(ctx, ServiceConfig, CommandDeleteCallback, struct{}{}, &okAnswer{})
}
