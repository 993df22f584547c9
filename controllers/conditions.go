package controllers

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// mergeConditions returns the conditions a controller should apply: desired,
// with the lastTransitionTime of existing conditions kept where the status
// did not change. owned lists every type the controller manages; owned types
// missing from desired are dropped. changed reports whether the result
// differs from the owned part of existing, i.e. whether a write is needed.
func mergeConditions(existing []metav1.Condition, owned []string, desired []metav1.Condition) (merged []metav1.Condition, changed bool) {
	current := ownedConditions(existing, owned)
	for _, d := range desired {
		c := d
		if old := meta.FindStatusCondition(current, d.Type); old != nil && old.Status == d.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		merged = append(merged, c)
	}
	sortConditions(current)
	sortConditions(merged)
	return merged, !equality.Semantic.DeepEqual(current, merged)
}

// ownedConditions returns the conditions of existing whose type is owned.
func ownedConditions(existing []metav1.Condition, owned []string) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range existing {
		if slices.Contains(owned, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

func sortConditions(conds []metav1.Condition) {
	slices.SortFunc(conds, func(a, b metav1.Condition) int {
		switch {
		case a.Type < b.Type:
			return -1
		case a.Type > b.Type:
			return 1
		}
		return 0
	})
}

// condition builds a condition observed at generation, transitioning now.
func condition(condType string, status metav1.ConditionStatus, reason, message string, generation int64) metav1.Condition {
	return metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.Now(),
	}
}

// conditionApplyConfigurations converts conditions for a server-side apply.
func conditionApplyConfigurations(conds []metav1.Condition) []*metav1ac.ConditionApplyConfiguration {
	out := make([]*metav1ac.ConditionApplyConfiguration, 0, len(conds))
	for _, c := range conds {
		out = append(out, metav1ac.Condition().
			WithType(c.Type).
			WithStatus(c.Status).
			WithReason(c.Reason).
			WithMessage(c.Message).
			WithObservedGeneration(c.ObservedGeneration).
			WithLastTransitionTime(c.LastTransitionTime))
	}
	return out
}

// requestsForOthers returns a request for every object in claimants except
// self: when one of several objects claiming the same identity (a roomID, an
// sdkAppID) comes or goes, the others may have to change who holds it.
func requestsForOthers[T client.Object](self T, claimants []T) []reconcile.Request {
	var reqs []reconcile.Request
	for _, other := range claimants {
		if other.GetUID() != self.GetUID() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(other)})
		}
	}
	return reqs
}
