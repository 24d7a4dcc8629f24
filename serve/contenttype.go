package serve

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

// contentType is the Content-Type a file is served with: the AssetFile's
// MimeType when the plan gives a valid one, else by extension. Every
// live-archive fragblob is an ISO-BMFF segment whatever its name.
func contentType(name, planType string, fragment bool) string {
	if planType != "" {
		if _, _, err := mime.ParseMediaType(planType); err == nil && !strings.ContainsAny(planType, "\r\n") {
			return planType
		}
	}
	if fragment {
		return "video/mp4"
	}
	if t, ok := mediaTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
