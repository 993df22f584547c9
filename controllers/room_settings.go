package controllers

import (
	"fmt"
	"strings"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// setting is one field of a Room's spec.settings: how to read it from the
// spec and from what the Room mirrors of the room, and how to send it.
type setting struct {
	// name is the field's JSON name in spec.settings.
	name string
	// createOnly: update_room_info cannot change it.
	createOnly bool
	// declared is the spec's value, nil when the field is not set (not
	// managed); observed is the room's, nil when unknown.
	declared func(*chatv1alpha1.RoomSettings) any
	observed func(*chatv1alpha1.RoomStatus) any
	// update copies the declared value into an update_room_info request
	// (nil for create-only fields).
	update func(*tencent.RoomUpdate, *chatv1alpha1.RoomSettings)
}

// settings lists every field of spec.settings, in the order the API shows
// them.
var settings = []setting{
	{name: "roomName",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.RoomName) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.RoomName) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.RoomName = s.RoomName }},
	{name: "roomType", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.RoomType) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.RoomType) }},
	{name: "ownerAccount", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.OwnerAccount) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.OwnerAccount) }},
	{name: "maxMemberCount",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.MaxMemberCount) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.MaxMemberCount) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.MaxMemberCount = s.MaxMemberCount }},
	{name: "maxSeatCount", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.MaxSeatCount) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.MaxSeatCount) }},
	{name: "seatEnabled", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.SeatEnabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.SeatEnabled) }},
	{name: "takeSeatMode",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.TakeSeatMode) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.TakeSeatMode) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.TakeSeatMode = s.TakeSeatMode }},
	{name: "videoDisabled",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.VideoDisabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.VideoDisabled) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.IsVideoDisabled = s.VideoDisabled }},
	{name: "audioDisabled",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.AudioDisabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.AudioDisabled) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.IsAudioDisabled = s.AudioDisabled }},
	{name: "messageDisabled",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.MessageDisabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.MessageDisabled) },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.IsMessageDisabled = s.MessageDisabled }},
	{name: "screenSharingDisabled",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.ScreenSharingDisabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.ScreenSharingDisabled) },
		update: func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) {
			u.IsScreenSharingDisabled = s.ScreenSharingDisabled
		}},
	{name: "cloudRecordingDisabled",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.CloudRecordingDisabled) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return deref(st.CloudRecordingDisabled) },
		update: func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) {
			u.IsCloudRecordingDisabled = s.CloudRecordingDisabled
		}},
	{name: "customInfo",
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.CustomInfo) },
		// An empty CustomInfo is a value: the room has none.
		observed: func(st *chatv1alpha1.RoomStatus) any { return st.CustomInfo },
		update:   func(u *tencent.RoomUpdate, s *chatv1alpha1.RoomSettings) { u.CustomInfo = s.CustomInfo }},
	{name: "scheduleStartTime", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.ScheduleStartTime) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.ScheduleStartTime) }},
	{name: "scheduleEndTime", createOnly: true,
		declared: func(s *chatv1alpha1.RoomSettings) any { return deref(s.ScheduleEndTime) },
		observed: func(st *chatv1alpha1.RoomStatus) any { return nonZero(st.ScheduleEndTime) }},
}

// deref returns *p, or nil (an untyped nil any) when p is nil.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// nonZero returns v, or nil when v is its type's zero value, which the
// Room's status uses for "not known".
func nonZero[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// settingsDiff is how a room differs from its Room's spec.settings.
type settingsDiff struct {
	// updatable and createOnly name the declared fields that differ, in
	// API order, split by whether update_room_info can change them.
	updatable, createOnly []string
}

func (d settingsDiff) empty() bool { return len(d.updatable) == 0 && len(d.createOnly) == 0 }

// String says which fields differ, for a condition message.
func (d settingsDiff) String() string {
	all := append(append([]string(nil), d.updatable...), d.createOnly...)
	return strings.Join(all, ", ")
}

// diffSettings compares the declared settings with what the Room mirrors of
// the room. Fields not declared are not compared.
func diffSettings(declared *chatv1alpha1.RoomSettings, st *chatv1alpha1.RoomStatus) settingsDiff {
	var d settingsDiff
	if declared == nil {
		return d
	}
	for _, f := range settings {
		want := f.declared(declared)
		if want == nil || want == f.observed(st) {
			continue
		}
		if f.createOnly {
			d.createOnly = append(d.createOnly, f.name)
		} else {
			d.updatable = append(d.updatable, f.name)
		}
	}
	return d
}

// updateRequest is the update_room_info request that brings the room to
// the declared settings: every declared updatable field, so that one call
// restores them all.
func updateRequest(roomID string, declared *chatv1alpha1.RoomSettings) tencent.RoomUpdate {
	u := tencent.RoomUpdate{RoomID: roomID}
	if declared == nil {
		return u
	}
	for _, f := range settings {
		if f.update != nil {
			f.update(&u, declared)
		}
	}
	return u
}

// createRequest is the create_room request for the Room's room.
func createRequest(roomID string, s *chatv1alpha1.RoomSettings) tencent.RoomSettings {
	req := tencent.RoomSettings{RoomID: roomID}
	if s == nil {
		return req
	}
	if s.RoomType != nil {
		req.RoomType = *s.RoomType
	}
	req.RoomName, req.OwnerAccount = s.RoomName, s.OwnerAccount
	req.MaxMemberCount, req.MaxSeatCount = s.MaxMemberCount, s.MaxSeatCount
	req.ScheduleStartTime, req.ScheduleEndTime = s.ScheduleStartTime, s.ScheduleEndTime
	req.IsVideoDisabled, req.IsAudioDisabled, req.IsMessageDisabled = s.VideoDisabled, s.AudioDisabled, s.MessageDisabled
	req.IsScreenSharingDisabled, req.IsCloudRecordingDisabled = s.ScreenSharingDisabled, s.CloudRecordingDisabled
	req.CustomInfo, req.IsSeatEnabled, req.TakeSeatMode = s.CustomInfo, s.SeatEnabled, s.TakeSeatMode
	return req
}

// describe names the room of a Room for messages.
func describe(room *chatv1alpha1.Room) string {
	return fmt.Sprintf("room %q of sdkAppID %d", room.Spec.RoomID, room.Spec.SDKAppID)
}
