package controllers

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roomsync/roomsync/internal/lookup"
)

// CacheByObject limits what the manager's cache holds of kinds the cluster
// has many of, so that roomsync's memory does not grow with the cluster:
// only the recording Jobs, and only the Secrets labelled for roomsync
// (lookup.SecretReader reads the others from the API server when asked).
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&batchv1.Job{}:   {Label: RecordingJobSelector()},
		&corev1.Secret{}: {Label: lookup.CachedSecrets()},
	}
}
