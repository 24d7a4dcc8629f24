package httprange

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVet(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"bytes=0-9", "bytes=0-9"},
		{"bytes=-0", "bytes=100-"},
		{"bytes=0-1, -000", "bytes=0-1,100-"},
		{"bytes=-5", "bytes=-5"},
		{"items=-0", "items=-0"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Range", tc.in)
		got, err := Vet(r, 100)
		if err != nil || got.Header.Get("Range") != tc.want || r.Header.Get("Range") != tc.in {
			t.Errorf("Vet(%q) = %q, %v; want %q and the request untouched", tc.in, got.Header.Get("Range"), err, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Range", "bytes=0-1"+strings.Repeat(",2-3", Max))
	if _, err := Vet(r, 100); err == nil {
		t.Error("more than Max ranges accepted")
	}
}
