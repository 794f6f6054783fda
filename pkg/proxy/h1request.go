package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// goUserAgent is what http.Request.Write sends when the header has no
// User-Agent field at all.
const goUserAgent = "Go-http-client/1.1"

// errRequestURICTL is http.Request.Write's refusal of a request target
// with a control character.
var errRequestURICTL = errors.New("net/http: can't write control character in Request.URL")

// writeRequestHead writes the head of a bodiless request as
// http.Request.Write does (the host checked, punycoded and stripped of
// its zone; Go's User-Agent unless the header has the field, an empty one
// meaning none; Connection: close when r.Close; the other fields sorted,
// line breaks in values turned into spaces and the values trimmed; Host,
// User-Agent, Content-Length, Transfer-Encoding and Trailer fields
// skipped), without formatting through fmt or building the transfer
// writer a body needs: about 3 % of the proxy's CPU per request.
// h1Client.takes guarantees there is no body.
func writeRequestHead(w *bufio.Writer, r *http.Request) error {
	if r.ContentLength != 0 && r.Body == nil {
		return fmt.Errorf("http: Request.ContentLength=%d with nil Body", r.ContentLength)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host, err := httpguts.PunycodeHostPort(host)
	if err != nil {
		return err
	}
	if !httpguts.ValidHostHeader(host) {
		host = "" // as Request.Write when not writing to a proxy
	}
	host = removeZone(host)
	ruri := r.URL.RequestURI()
	if hasCTLByte(ruri) {
		return errRequestURICTL
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(ruri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	ua := goUserAgent
	if v, ok := r.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		writeField(w, "User-Agent", ua)
	}
	if r.Close && !hasCloseToken(firstValue(r.Header["Connection"])) {
		w.WriteString("Connection: close\r\n")
	}
	var buf [32]string
	keys := buf[:0]
	for k := range r.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		// Dropped as http.Header.Write drops them: a name with a space,
		// colon or line break in it would let a value pose as a field.
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			writeField(w, k, v)
		}
	}
	_, err = w.WriteString("\r\n")
	return err
}

// writeField writes one header field as http.Header.Write does: CR and LF
// in the value become spaces (appendFieldValue, as in responses), then
// surrounding spaces and tabs go.
func writeField(w *bufio.Writer, k, v string) {
	w.WriteString(k)
	w.WriteString(": ")
	w.Write(bytes.Trim(appendFieldValue(w.AvailableBuffer(), v), " \t"))
	w.WriteString("\r\n")
}

func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// hasCloseToken reports whether v has the token "close", in any case,
// between token boundaries (space, tab or comma), as net/http decides
// whether a request already says Connection: close.
func hasCloseToken(v string) bool {
	const token = "close"
	for i := 0; i+len(token) <= len(v); i++ {
		if i > 0 && !isTokenBoundary(v[i-1]) {
			continue
		}
		if end := i + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		// Unicode folding cannot differ from net/http's ASCII folding
		// here: a window of five bytes with a multi-byte rune in it has
		// fewer than five runes.
		if strings.EqualFold(v[i:i+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

// removeZone strips an IPv6 zone from a host ("[fe80::1%en0]:8080"), as
// http.Request.Write does: a zone means nothing to the server.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// hasCTLByte reports whether s has an ASCII control character (or DEL).
func hasCTLByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
