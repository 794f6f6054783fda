// Package profile is the proxy's model of a Service's route configuration
// (a ServiceProfile as the destination controller serves it): which route
// a request belongs to, whether its response is a failure, whether it may
// be retried and within which budget, and its timeout. It knows nothing of
// the proxy or of the controller's API: pkg/proxy/discovery converts the
// controller's answers into it, and the proxy applies it per request.
package profile
