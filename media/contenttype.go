package media

import (
	"mime"
	"path"
	"strings"
)

// mediaTypes are the Content-Types of the files a Media Services asset
// holds, by extension. A fixed table, not mime.TypeByExtension, so that a
// file is served the same way whatever /etc/mime.types says.
var mediaTypes = map[string]string{
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".ismv": "video/mp4",
	".cmfv": "video/mp4",
	".m4a":  "audio/mp4",
	".isma": "audio/mp4",
	".cmfa": "audio/mp4",
	".mov":  "video/quicktime",
	".3gp":  "video/3gpp",
	".ts":   "video/mp2t",
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/iso.segment",
	".ism":  "application/vnd.ms-sstr+xml",
	".ismc": "text/xml; charset=utf-8",
	".xml":  "text/xml; charset=utf-8",
	".ttml": "application/ttml+xml",
	".vtt":  "text/vtt; charset=utf-8",
	".json": "application/json",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
}

// planTypes are the media types an export's MimeType may give a file (besides video/*, audio/* and image/* but SVG): the kinds of file an
// asset holds. Anything else, such as text/html or image/svg+xml, which a
// browser would run as a page of the origin serving it, or a type holding
// bytes that cannot travel in a header, falls back to the extension's type.
var planTypes = map[string]bool{
	"text/vtt": true, "text/plain": true, "text/xml": true, "application/xml": true,
	"application/ttml+xml": true, "application/json": true, "application/octet-stream": true,
	"application/mp4": true, "application/vnd.ms-sstr+xml": true, "application/dash+xml": true,
	"application/vnd.apple.mpegurl": true, "application/x-mpegurl": true, "video/mp2t": true,
}

// ContentType is the Content-Type an asset file is served with: planType
// (the AssetFile's MimeType, from the plan) when it is a type of asset
// file that no browser runs as a page, else the type of its extension,
// from a fixed table. Every live-archive fragblob (fragment) is an ISO-BMFF
// segment whatever its name, of audio when its track's name says so.
func ContentType(name, planType string, fragment bool) string {
	if planType != "" && allowedPlanType(planType) {
		return planType
	}
	if fragment {
		// Live archives name tracks after their kind: "video",
		// "audio_eng=128000".
		if strings.HasPrefix(strings.ToLower(path.Base(path.Dir(name))), "audio") {
			return "audio/mp4"
		}
		return "video/mp4"
	}
	if t, ok := mediaTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

func allowedPlanType(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] < ' ' || t[i] > '~' {
			return false
		}
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	major, _, _ := strings.Cut(mt, "/")
	switch {
	case mt == "image/svg+xml":
		return false
	case major == "video" || major == "audio" || major == "image":
		return true
	}
	return planTypes[mt]
}
