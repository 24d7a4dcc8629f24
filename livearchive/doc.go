// Package livearchive stitches one track of an Azure Media Services live archive (a header
// fragblob and one fragblob per fragment, timed by Smooth tfxd boxes and listed in the .ismc)
// into a standard fragmented MP4, streamed to a writer or read at random offsets (a Layout,
// kept between reads by Layouts). Asset.Tracks
// holds the rules that find an asset's tracks among its files and pair them with its manifests,
// for restore and serve alike, over an opener the caller gives (decrypting, for them).
package livearchive
