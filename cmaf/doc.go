// Package cmaf packages an asset straight from its files' plaintext, read
// by range (for a storage-encrypted asset: serve.Server, which decrypts
// each range as it is read), into CMAF HLS and DASH: what Media Services'
// dynamic packaging answered at NAME.ism/manifest(format=m3u8-cmaf) and
// (format=mpd-time-cmaf), as static files or on the fly.
//
// ReadTracks reads an MP4's tracks from its moov (and, fragmented, its
// moofs) without reading media data. Presentations groups them as each
// .ism says (or every MP4 and WebVTT file, without one) and cuts them into
// segments at the reference video's sync samples, aligned across
// renditions. A Presentation names every output (init segments, media
// segments, media playlists, WebVTT, master.m3u8 and manifest.mpd) and
// writes any of them: a media segment from one ranged read of its track's
// file, its samples unchanged. Package writes them all into a
// restore.Sink, whole and resumably; Origin answers them per request.
//
// Boxes are read and written with github.com/Eyevinn/mp4ff; the manifests
// with encoding/xml and plain text.
package cmaf
