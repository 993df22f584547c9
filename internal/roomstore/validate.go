package roomstore

import (
	"fmt"
	"time"
	"unicode/utf8"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Validate reports why the Room CRD's schema would refuse what ev writes
// into a Room's status, or nil. The receiver checks it before it writes or
// spools an event: an event the API server could refuse for its content
// must be answered 400 at once, never kept in the spool to fail later.
//
// The rules are the CRD's own (maxLength, minimum, the date range of a
// metav1.Time); TestValidateKnowsEveryRuleOfTheCRD holds statusLimits to the
// generated CRD, so a marker changed in api/ without a change here fails.
func Validate(ev Event) error {
	var st chatv1alpha1.RoomStatus
	transition(&st, ev)
	for _, l := range statusLimits(&st) {
		if err := l.check(); err != nil {
			return err
		}
	}
	// Times made from EventTime (destroyed.time, members.lastChangeTime)
	// must be RFC 3339 dates: years up to 9999.
	if y := time.UnixMilli(ev.EventTime).UTC().Year(); y > 9999 {
		return fmt.Errorf("EventTime %d is not a date a Room can hold: the year %d is after 9999", ev.EventTime, y)
	}
	return nil
}

// limit is one schema rule of a status field the receiver writes.
type limit struct {
	// path is the field's JSON path below status, e.g. "destroyed.operator".
	path string
	// maxLength bounds a string in characters (0: none); min bounds an
	// integer from below (nil: none).
	maxLength int
	min       *int64
	str       string
	num       int64
}

func (l limit) check() error {
	if l.maxLength > 0 {
		if n := utf8.RuneCountInString(l.str); n > l.maxLength {
			return fmt.Errorf("%s would be %d characters long, over the Room's limit of %d", l.path, n, l.maxLength)
		}
	}
	if l.min != nil && l.num < *l.min {
		return fmt.Errorf("%s would be %d, under the Room's minimum of %d", l.path, l.num, *l.min)
	}
	return nil
}

// statusLimits returns the rules of every status field the receiver writes
// that the CRD bounds, with st's values.
func statusLimits(st *chatv1alpha1.RoomStatus) []limit {
	zero := int64(0)
	maxLen := func(path string, n int, v string) limit { return limit{path: path, maxLength: n, str: v} }
	atLeast0 := func(path string, v int64) limit { return limit{path: path, min: &zero, num: v} }
	var memberCount, operator = int64(0), ""
	if st.MemberCount != nil {
		memberCount = *st.MemberCount
	}
	if st.Destroyed != nil {
		operator = st.Destroyed.Operator
	}
	return []limit{
		maxLen("roomName", 1024, st.RoomName),
		maxLen("ownerAccount", 256, st.OwnerAccount),
		maxLen("takeSeatMode", 64, st.TakeSeatMode),
		maxLen("customInfo", 8192, st.CustomInfo),
		maxLen("roomType", 64, st.RoomType),
		maxLen("roomStatus", 64, st.RoomStatus),
		maxLen("lastOperator", 256, st.LastOperator),
		maxLen("lastCallbackCommand", 128, st.LastCallbackCommand),
		maxLen("lastClientIP", 64, st.LastClientIP),
		maxLen("lastOptPlatform", 64, st.LastOptPlatform),
		maxLen("destroyed.operator", 256, operator),
		atLeast0("maxMemberCount", st.MaxMemberCount),
		atLeast0("maxSeatCount", st.MaxSeatCount),
		atLeast0("scheduleInviteeCount", st.ScheduleInviteeCount),
		atLeast0("memberCount", memberCount),
		atLeast0("lastEventTime", st.LastEventTime),
	}
}
