package media_test

import (
	"testing"

	"github.com/amscrypt/amscrypt/media"
)

func TestContentType(t *testing.T) {
	for _, tt := range []struct {
		name, plan string
		fragment   bool
		want       string
	}{
		{"a.mp4", "", false, "video/mp4"},
		{"A.MP4", "", false, "video/mp4"},
		{"a.mp4", "video/quicktime", false, "video/quicktime"},
		{"a.vtt", "text/vtt; charset=utf-8", false, "text/vtt; charset=utf-8"},
		{"a.ism", "application/vnd.ms-sstr+xml", false, "application/vnd.ms-sstr+xml"},
		{"video/0", "", true, "video/mp4"},
		{"audio_eng=128000/header", "", true, "audio/mp4"},
		{"asset/Audio/40106666", "", true, "audio/mp4"},
		{"noext", "", false, "application/octet-stream"},
		// Types a browser would run as a page of this origin, or that
		// cannot travel in a header, fall back to the extension.
		{"a.mp4", "text/html", false, "video/mp4"},
		{"a.mp4", "application/xhtml+xml", false, "video/mp4"},
		{"a.png", "image/svg+xml", false, "image/png"},
		{"a.mp4", "multipart/byteranges; boundary=zzz", false, "video/mp4"},
		{"a.vtt", "text/vtt; x=\"a\x00b\"", false, "text/vtt; charset=utf-8"},
		{"a.vtt", "text/vtt; x=\"a\x7fb\"", false, "text/vtt; charset=utf-8"},
		{"a.vtt", "text/vtt\r\nX-Evil: 1", false, "text/vtt; charset=utf-8"},
		{"a.vtt", "text/vtt; x=\"é\"", false, "text/vtt; charset=utf-8"},
		{"a.mp4", "not a type", false, "video/mp4"},
		{"a.mp4", "application/javascript", false, "video/mp4"},
	} {
		if got := media.ContentType(tt.name, tt.plan, tt.fragment); got != tt.want {
			t.Errorf("ContentType(%q, %q, %v) = %q, want %q", tt.name, tt.plan, tt.fragment, got, tt.want)
		}
	}
}
