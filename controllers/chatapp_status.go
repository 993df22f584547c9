package controllers

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// chatAppConditionTypes are the condition types the ChatApp controller owns.
var chatAppConditionTypes = []string{chatv1alpha1.ReadyCondition, chatv1alpha1.StalledCondition}

// chatAppConditions decides a ChatApp's conditions from the ChatApp, the
// holder of its sdkAppID (the oldest ChatApp claiming it) and the result of
// reading its callback token (nil error: readable, or not needed).
func chatAppConditions(app, holder *chatv1alpha1.ChatApp, tokenErr error) []metav1.Condition {
	gen := app.Generation
	stalled := func(reason, msg string) []metav1.Condition {
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, reason, msg, gen),
			condition(chatv1alpha1.StalledCondition, metav1.ConditionTrue, reason, msg, gen),
		}
	}
	switch {
	case holder != nil && holder.UID != app.UID:
		return stalled(chatv1alpha1.SDKAppIDConflictReason, fmt.Sprintf(
			"sdkAppID %d is held by the older ChatApp %s/%s: its callbacks go there, not here",
			app.Spec.SDKAppID, holder.Namespace, holder.Name))
	case errors.Is(tokenErr, lookup.ErrTokenSecretNotFound):
		return stalled(chatv1alpha1.TokenSecretNotFoundReason, tokenErr.Error()+": callbacks are refused with 401 until it is created")
	case errors.Is(tokenErr, lookup.ErrTokenKeyNotFound):
		return stalled(chatv1alpha1.TokenKeyNotFoundReason, tokenErr.Error()+": callbacks are refused with 401 until it is set")
	case resyncStalled(app):
		f := app.Status.Resync.Failure
		return stalled(f.Reason, f.Message+": resync from the REST API is stopped until the next interval or a change of the ChatApp or its Secret")
	}
	msg := fmt.Sprintf("Accepting callbacks for sdkAppID %d", app.Spec.SDKAppID)
	if app.Spec.CallbackAuth == nil {
		msg += " without authentication (no callbackAuth)"
	} else {
		msg += ", signed with the token in Secret " + app.Spec.CallbackAuth.TokenSecretRef.Name
	}
	return []metav1.Condition{
		condition(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.AcceptingCallbacksReason, msg, gen),
	}
}

// resyncStalled reports whether app's last resync failed in a way that
// needs a human: credentials or a secret key. An answer that was not as
// documented may pass by itself, so it is shown in status.resync only.
func resyncStalled(app *chatv1alpha1.ChatApp) bool {
	if app.Spec.RestAPI == nil || app.Status.Resync == nil || app.Status.Resync.Failure == nil {
		return false
	}
	switch app.Status.Resync.Failure.Reason {
	case chatv1alpha1.RESTAPICredentialsRejectedReason, chatv1alpha1.SecretKeyNotFoundReason:
		return true
	}
	return false
}
