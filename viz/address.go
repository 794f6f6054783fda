package viz

import "net"

// podIPs names the pod behind an address. Pods sharing an IP (hostNetwork
// pods share their node's) are ambiguous and left out: their traffic keeps
// its address.
type podIPs map[string]*Pod

func podsByIP(pods []Pod) podIPs {
	out := podIPs{}
	seen := map[string]int{}
	for i := range pods {
		if ip := pods[i].IP; ip != "" {
			seen[ip]++
			out[ip] = &pods[i]
		}
	}
	for ip, n := range seen {
		if n > 1 {
			delete(out, ip)
		}
	}
	return out
}

// resolve returns the pod listening at addr ("ip:port" or "ip").
func (m podIPs) resolve(addr string) (Pod, bool) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if p, ok := m[host]; ok {
		return *p, true
	}
	return Pod{}, false
}
