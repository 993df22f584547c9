package controllers

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// chatAppConditionTypes are the condition types the ChatApp controller owns.
var chatAppConditionTypes = []string{
	chatv1alpha1.ReadyCondition, chatv1alpha1.StalledCondition,
	chatv1alpha1.ReconcilingCondition, chatv1alpha1.CallbackRegisteredCondition,
}

// CallbackCheckPendingReason (CallbackRegistered=Unknown, Reconciling=True):
// the callback registration controller has not compared Tencent's
// configuration with the ChatApp's current generation yet.
const CallbackCheckPendingReason = "CheckPending"

// chatAppConditions decides a ChatApp's conditions from the ChatApp, the
// older claim of its sdkAppID that takes its callbacks if any (shadow, see
// lookup.ShadowedBy), the result of reading its callback token (nil error:
// readable, or not needed) and whether unsigned callbacks are allowed. With
// spec.callbackRegistration, CallbackRegistered comes from
// status.callbackRegistration, which the callback registration controller
// writes.
func chatAppConditions(app *chatv1alpha1.ChatApp, shadow *lookup.Claim, tokenErr error, allowUnsigned bool) []metav1.Condition {
	conds := chatAppReadiness(app, shadow, tokenErr, allowUnsigned)
	return append(conds, callbackConditions(app, !meta.IsStatusConditionTrue(conds, chatv1alpha1.StalledCondition))...)
}

// chatAppReadiness decides Ready and Stalled.
func chatAppReadiness(app *chatv1alpha1.ChatApp, shadow *lookup.Claim, tokenErr error, allowUnsigned bool) []metav1.Condition {
	gen := app.Generation
	stalled := func(reason, msg string) []metav1.Condition {
		return []metav1.Condition{
			condition(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, reason, msg, gen),
			condition(chatv1alpha1.StalledCondition, metav1.ConditionTrue, reason, msg, gen),
		}
	}
	switch {
	case app.Spec.CallbackAuth == nil && !allowUnsigned:
		return stalled(chatv1alpha1.CallbackAuthRequiredReason, callbackAuthRequiredMessage(app))
	case shadow != nil:
		return stalled(chatv1alpha1.SDKAppIDConflictReason, conflictMessage(app, shadow))
	case errors.Is(tokenErr, lookup.ErrTokenSecretNotFound):
		return stalled(chatv1alpha1.TokenSecretNotFoundReason, tokenErr.Error()+": callbacks are refused with 401 until it is created")
	case errors.Is(tokenErr, lookup.ErrTokenKeyNotFound):
		return stalled(chatv1alpha1.TokenKeyNotFoundReason, tokenErr.Error()+": callbacks are refused with 401 until it is set")
	case resyncStalled(app):
		f := app.Status.Resync.Failure
		return stalled(f.Reason, f.Message+": resync from the REST API is stopped until the next interval or a change of the ChatApp or its Secret")
	case callbackStalled(app):
		c := callbackRegisteredCondition(app)
		return stalled(c.Reason, c.Message)
	}
	msg := fmt.Sprintf("Accepting callbacks for sdkAppID %d", app.Spec.SDKAppID)
	if app.Spec.CallbackAuth == nil {
		msg = unsignedMessage(app)
	} else {
		msg += ", signed with the token in Secret " + app.Spec.CallbackAuth.TokenSecretRef.Name
	}
	return []metav1.Condition{
		condition(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.AcceptingCallbacksReason, msg, gen),
	}
}

// callbackAuthRequiredMessage says how to give app a callback token.
func callbackAuthRequiredMessage(app *chatv1alpha1.ChatApp) string {
	return fmt.Sprintf("spec.callbackAuth is not set and this roomsync accepts only signed callbacks: every callback for sdkAppID %d "+
		"is answered 401. Configure a callback token for the app in Tencent's console (callback configuration), keep it in a Secret "+
		"and point spec.callbackAuth at it: kubectl create secret generic chat-callback -n %s --from-literal=token=<token> && "+
		"kubectl label secret chat-callback -n %s %s=true && kubectl patch chatapp %s -n %s --type merge "+
		`-p '{"spec":{"callbackAuth":{"tokenSecretRef":{"name":"chat-callback"}}}}'. `+
		"(A cluster administrator can allow unsigned callbacks with --allow-unsigned-callbacks; anyone who knows the sdkAppID could then create Rooms.)",
		app.Spec.SDKAppID, app.Namespace, app.Namespace, chatv1alpha1.SecretLabel, app.Name, app.Namespace)
}

// unsignedMessage is the Ready message of a ChatApp that accepts unsigned
// callbacks.
func unsignedMessage(app *chatv1alpha1.ChatApp) string {
	return fmt.Sprintf("Accepting callbacks for sdkAppID %d WITHOUT authentication (no spec.callbackAuth): anyone who can reach "+
		"the callback endpoint and knows the sdkAppID can create and change Rooms and start recordings. Set spec.callbackAuth "+
		"with the app's callback token", app.Spec.SDKAppID)
}

// conflictMessage says why app, shadowed by shadow, gets no callbacks. It
// names shadow only when it is in app's namespace.
func conflictMessage(app *chatv1alpha1.ChatApp, shadow *lookup.Claim) string {
	who := lookup.Describe(shadow, app.Namespace)
	switch {
	case app.Spec.CallbackAuth != nil:
		return fmt.Sprintf("the older %s claims sdkAppID %d with the same callback token: callbacks signed with it go there, not here", who, app.Spec.SDKAppID)
	case shadow.Signed():
		return fmt.Sprintf("%s claims sdkAppID %d with spec.callbackAuth: unsigned callbacks are refused, and signed ones go to the ChatApp "+
			"whose token verifies them. Set spec.callbackAuth with the app's callback token to receive them here", who, app.Spec.SDKAppID)
	}
	return fmt.Sprintf("the older %s claims sdkAppID %d: its callbacks go there, not here", who, app.Spec.SDKAppID)
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

// callbackConditions are CallbackRegistered and, while the callback
// registration has not looked at the current generation, Reconciling (unless
// the ChatApp is Stalled anyway). None without spec.callbackRegistration.
func callbackConditions(app *chatv1alpha1.ChatApp, mayReconcile bool) []metav1.Condition {
	if app.Spec.CallbackRegistration == nil {
		return nil
	}
	c := callbackRegisteredCondition(app)
	conds := []metav1.Condition{c}
	if c.Reason == CallbackCheckPendingReason && mayReconcile {
		conds = append(conds, condition(chatv1alpha1.ReconcilingCondition, metav1.ConditionTrue, c.Reason, c.Message, app.Generation))
	}
	return conds
}

// callbackRegisteredCondition says whether Tencent's callback configuration
// matches spec.callbackRegistration (which must be set), as
// status.callbackRegistration last reported it.
func callbackRegisteredCondition(app *chatv1alpha1.ChatApp) metav1.Condition {
	spec, st, gen := app.Spec.CallbackRegistration, app.Status.CallbackRegistration, app.Generation
	switch {
	case st == nil || st.ObservedGeneration != gen:
		return condition(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionUnknown, CallbackCheckPendingReason,
			"roomsync has not compared Tencent's callback configuration with spec.callbackRegistration yet", gen)
	case st.Reason == chatv1alpha1.CallbackRegisteredReason && callbackStatusMatches(spec, st):
		return condition(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionTrue, chatv1alpha1.CallbackRegisteredReason,
			fmt.Sprintf("Tencent sends the app's callbacks to %s: %s", st.URL, strings.Join(st.Commands, ", ")), gen)
	case st.Reason == chatv1alpha1.CallbackURLTakenReason:
		return condition(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionFalse, st.Reason, urlTakenMessage(spec, st.URL), gen)
	case st.Reason == "" || st.Reason == chatv1alpha1.CallbackRegisteredReason:
		// Not written by this version of roomsync.
		return condition(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionUnknown, CallbackCheckPendingReason,
			"status.callbackRegistration does not say whether Tencent's configuration matches spec.callbackRegistration", gen)
	}
	return condition(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionFalse, st.Reason, callbackFailureMessage(st), gen)
}

// callbackFailureMessage says why the callback configuration could not be
// checked, and when roomsync tries again.
func callbackFailureMessage(st *chatv1alpha1.CallbackRegistrationStatus) string {
	switch st.Reason {
	case chatv1alpha1.SDKAppIDConflictReason:
		return st.Message
	case chatv1alpha1.TencentUnavailableReason:
		return "Tencent's callback configuration could not be read or set: " + st.Message + "; roomsync tries again with backoff"
	}
	return "Tencent's callback configuration could not be read or set: " + st.Message +
		"; roomsync tries again at the next resyncInterval, or when the ChatApp or its Secret changes"
}

// callbackStalled reports whether the callback registration needs a human:
// another URL in Tencent without takeOver, or rejected credentials.
func callbackStalled(app *chatv1alpha1.ChatApp) bool {
	if app.Spec.CallbackRegistration == nil {
		return false
	}
	switch callbackRegisteredCondition(app).Reason {
	case chatv1alpha1.CallbackURLTakenReason, chatv1alpha1.RESTAPICredentialsRejectedReason:
		return true
	}
	return false
}
