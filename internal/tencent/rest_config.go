package tencent

import (
	"context"
	"errors"
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

func (a *getCallbackAnswer) check() error {
	if a.Response == nil || a.Response.URL == nil || a.Response.Commands == nil {
		return errors.New("no Response.Url and Response.CallbackCommandList")
	}
	return nil
}

// GetCallback returns the app's callback configuration. An error matches
// ErrCallbackNotFound when the app has none, ErrBadAnswer when the answer
// lacks Response.Url or Response.CallbackCommandList.
func (c *RESTClient) GetCallback(ctx context.Context) (CallbackConfig, error) {
	a := &getCallbackAnswer{}
	if err := c.call(ctx, ServiceConfig, CommandGetCallback, struct{}{}, a); err != nil {
		return CallbackConfig{}, err
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
