package proxy

import "testing"

func TestEffectiveLogLevel(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "info", want: "info"},
		{in: "warn,meshctl=info", want: "info"},
		{in: "meshctl=debug,warn", want: "debug"},
		{in: "warn,hyper=debug", want: "warn"},
		{in: "TRACE", want: "debug"},
		{in: "off", want: "error"},
		{in: "Warning", want: "warn"},
		{in: " error , meshctl = warn ", want: "warn"},
		{in: "meshctl=", wantErr: true},
		{in: "warn,meshctl=", wantErr: true},
		{in: "loud", wantErr: true},
		{in: "warn,meshctl=loud", wantErr: true},
		{in: "", wantErr: true},
		{in: "hyper=debug", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := EffectiveLogLevel(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("EffectiveLogLevel(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
