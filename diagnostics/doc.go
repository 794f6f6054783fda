// Package diagnostics reads the state of running proxies for the
// inspection commands (`meshctl identity`, `meshctl diagnostics
// proxy-identity`): it finds meshed pods and fetches what their proxies'
// admin endpoints publish, through the API server's pod proxy.
package diagnostics
