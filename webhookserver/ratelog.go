package webhookserver

import (
	"sync"
	"time"
)

// rejectionLogInterval is how often, at most, a rejection of one kind is
// logged.
const rejectionLogInterval = time.Second

// rejectionLog decides which rejections are logged: at most one of each kind
// (a result and ErrorCode, a bounded set) every rejectionLogInterval,
// counting the others, so that a flood of bad requests costs a counter, not
// a log line each.
type rejectionLog struct {
	mu    sync.Mutex
	kinds map[string]*rejections
}

type rejections struct {
	logged time.Time
	held   int
}

// allow reports whether a rejection of kind at now is logged, and how many
// of that kind were not since the last one that was.
func (l *rejectionLog) allow(kind string, now time.Time) (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kinds == nil {
		l.kinds = map[string]*rejections{}
	}
	r := l.kinds[kind]
	if r == nil {
		r = &rejections{}
		l.kinds[kind] = r
	}
	if !r.logged.IsZero() && now.Sub(r.logged) < rejectionLogInterval {
		r.held++
		return 0, false
	}
	held, r.held, r.logged = r.held, 0, now
	return held, true
}
