// Package v1alpha1 contains the API types of the chat.roomsync.io group:
// ChatApp (one Tencent Cloud Chat application whose callbacks the cluster
// accepts) and Room (one Tencent room, mirrored from those callbacks).
//
// +kubebuilder:object:generate=true
// +kubebuilder:ac:generate=true
// +groupName=chat.roomsync.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "chat.roomsync.io", Version: "v1alpha1"}

	// SchemeGroupVersion is GroupVersion under the name generated code
	// (apply configurations) expects.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ChatApp{}, &ChatAppList{}, &Room{}, &RoomList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
