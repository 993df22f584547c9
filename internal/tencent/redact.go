package tencent

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Credentials ride in URLs: a REST call's query carries the administrator's
// UserSig, a callback's query its Sign. Go's HTTP client quotes the whole
// URL in every error it returns (*url.Error), and such errors end up in
// statuses, Events and logs that others may read. What is here keeps them
// out.

// RedactedQuery stands in an error's text for a query string taken out.
const RedactedQuery = "?…"

// RedactURL returns rawURL as scheme://host/path, without user information,
// query or fragment; [RedactedQuery] ends it when it had a query. A URL that
// does not parse is cut before its first '?' or '#' (and shown as
// "(URL not shown)" when it has an '@', which may be user information).
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		cut, hadQuery := rawURL, false
		if i := strings.IndexAny(rawURL, "?#"); i >= 0 {
			cut, hadQuery = rawURL[:i], true
		}
		if strings.Contains(cut, "@") {
			return "(URL not shown)"
		}
		if hadQuery {
			cut += RedactedQuery
		}
		return cut
	}
	hadQuery := u.RawQuery != "" || u.ForceQuery
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	s := u.String()
	if hadQuery {
		s += RedactedQuery
	}
	return s
}

// RedactURLError takes the query string (and user information) out of the
// URL of the *url.Error in err's chain, what an http.Client returns, in
// place (see [RedactURL]), and returns err. Call it on the error of a
// request whose URL carries a credential before the error goes anywhere.
func RedactURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		uerr.URL = RedactURL(uerr.URL)
	}
	return err
}

// queryWithUserSig matches a query string (from its '?' to the next space
// or quote) that names usersig: an echo of a REST request's URL. The query
// of a JSON string may have its '&' written \u0026: a backslash does not
// end it.
var queryWithUserSig = regexp.MustCompile(`(?i)\?[^\s"'<>]*usersig[^\s"'<>]*`)

// userSigParameter matches a usersig parameter and its value, outside a
// query (usersig=, or usersig%3D once escaped).
var userSigParameter = regexp.MustCompile(`(?i)usersig(=|%3D|\\u003d)[^\s&"'<>\\]*`)

// redactText returns s without the credentials of a REST call: any query
// string naming usersig becomes [RedactedQuery], any usersig parameter
// "…", and each secret, as it is and as it is escaped in a query, "…".
func redactText(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		s = strings.ReplaceAll(s, secret, "…")
		if escaped := url.QueryEscape(secret); escaped != secret {
			s = strings.ReplaceAll(s, escaped, "…")
		}
	}
	s = queryWithUserSig.ReplaceAllLiteralString(s, RedactedQuery)
	return userSigParameter.ReplaceAllLiteralString(s, "…")
}

// redactedError is an error whose text carried a credential: Error gives
// the text without it. Unwrap still reaches the error, so that errors.Is
// and errors.As work; the client's own error types hold no credential in
// their fields (see [RESTClient]).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with no credential in its text: the URL of a
// *url.Error in its chain is redacted (RedactURLError), and the error that
// *url.Error wraps replaced when its own text quotes one (Go quotes a bad
// Location header whole); anything else in the text that names usersig or
// holds a secret is taken out (redactText).
func redactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		uerr.URL = RedactURL(uerr.URL)
		if uerr.Err != nil {
			if text := uerr.Err.Error(); redactText(text, secrets...) != text {
				uerr.Err = errors.New(redactText(text, secrets...))
			}
		}
	}
	if text := err.Error(); redactText(text, secrets...) != text {
		return &redactedError{text: redactText(text, secrets...), err: err}
	}
	return err
}
