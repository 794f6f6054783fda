// Package tap is the contract between the proxy's tap server (its control
// port, 4190) and its clients (meshctl viz tap and viz top): the request
// that opens a tap stream and the events the stream carries, one JSON
// object per line (NDJSON).
//
// A client POSTs a Request as JSON to Path with the tap token in
// HeaderToken. The proxy answers 403 without a valid token, 429 when too
// many streams are open, and otherwise 200 with a stream of Events for the
// requests that match the filter, sampled to at most Request.MaxRPS new
// requests per second, until the client goes away or the stream's lifetime
// ends. A stream never slows the proxied traffic: events that the client
// does not read in time are dropped and counted (an Event of TypeDropped).
package tap

import "time"

// Path is where the tap server takes requests.
const Path = "/tap"

// HeaderToken carries the tap token. It is not Authorization, which the
// Kubernetes API server consumes and strips before proxying to a pod.
const HeaderToken = "Meshctl-Tap-Token"

// ContentType is the media type of the event stream.
const ContentType = "application/x-ndjson"

// Limits the proxy enforces on a Request.
const (
	// MaxRequestBytes bounds the JSON body of a Request.
	MaxRequestBytes = 16 << 10
	// DefaultMaxRPS is the sampling rate when a Request asks for none.
	DefaultMaxRPS = 100
	// LimitMaxRPS is the most a Request may ask for.
	LimitMaxRPS = 1000
	// MaxAddrs bounds ToAddrs and FromAddrs.
	MaxAddrs = 1024
)

// Directions of Request.Direction and Event.Proxy.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Request opens a tap stream. Empty fields match everything.
type Request struct {
	// Direction is inbound, outbound or empty for both.
	Direction string `json:"direction,omitempty"`
	// Method matches the request method exactly (GET, POST, ...).
	Method string `json:"method,omitempty"`
	// PathPrefix matches the start of the request path.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Authority matches the request's authority (Host) exactly.
	Authority string `json:"authority,omitempty"`
	// ToAddrs match the destination's IP (an IP, or ip:port for one port).
	ToAddrs []string `json:"toAddrs,omitempty"`
	// FromAddrs match the source's IP (an IP, or ip:port).
	FromAddrs []string `json:"fromAddrs,omitempty"`
	// MaxRPS is the most new requests per second the stream reports
	// (default DefaultMaxRPS, at most LimitMaxRPS).
	MaxRPS float64 `json:"maxRps,omitempty"`
}

// Types of Event.
const (
	// TypeRequest is a request's head arriving at the proxy.
	TypeRequest = "req"
	// TypeResponse is the response's head leaving the proxy.
	TypeResponse = "rsp"
	// TypeEnd is the end of the exchange (the response's end of stream,
	// or the error that ended it).
	TypeEnd = "end"
	// TypeDropped reports events dropped because the client read too slowly.
	TypeDropped = "dropped"
)

// Event is one line of a tap stream. Which fields are set depends on Type.
type Event struct {
	Type string `json:"type"`
	// ID identifies the exchange within the stream: its req, rsp and end
	// share it.
	ID uint64 `json:"id"`
	// Time is when the proxy saw the event.
	Time time.Time `json:"time"`
	// Proxy is the side of the proxy: inbound or outbound.
	Proxy string `json:"proxy,omitempty"`
	// Source and Destination are ip:port addresses: the client of the
	// connection and its original destination (outbound: the chosen
	// endpoint).
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination,omitempty"`
	// TLS is "true" for mTLS, else the tls label (no_identity) and
	// NoTLSReason why.
	TLS         string `json:"tls,omitempty"`
	NoTLSReason string `json:"noTlsReason,omitempty"`
	// ClientID and ServerID are the verified identities of the mTLS peers.
	ClientID string `json:"clientId,omitempty"`
	ServerID string `json:"serverId,omitempty"`

	// Request head (TypeRequest). Values are the client's bytes, bounded
	// in length; renderers must escape them.
	Method    string `json:"method,omitempty"`
	Scheme    string `json:"scheme,omitempty"`
	Authority string `json:"authority,omitempty"`
	Path      string `json:"path,omitempty"`

	// Status is the HTTP status (TypeResponse, TypeEnd).
	Status int `json:"status,omitempty"`
	// LatencyMicros is the time from the request's head to the
	// response's head (TypeResponse).
	LatencyMicros int64 `json:"latencyMicros,omitempty"`

	// GRPCStatus is the grpc-status of a gRPC response (TypeEnd).
	GRPCStatus string `json:"grpcStatus,omitempty"`
	// DurationMicros is the time from the request's head to the end of
	// the exchange (TypeEnd).
	DurationMicros int64 `json:"durationMicros,omitempty"`
	// ResponseBytes counts the response body's bytes (TypeEnd).
	ResponseBytes int64 `json:"responseBytes,omitempty"`
	// Error is why the exchange failed (TypeEnd): the proxy's error label
	// (connect_error, upstream_error, timeout, stream_reset, forbidden, ...).
	Error string `json:"error,omitempty"`

	// Dropped counts events not delivered since the last event (TypeDropped).
	Dropped uint64 `json:"dropped,omitempty"`
}
