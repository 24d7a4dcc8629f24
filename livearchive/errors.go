package livearchive

import "errors"

var (
	// ErrManifest reports a client (.ismc) or server (.ism) manifest that
	// cannot be read; the message names the element and attribute.
	ErrManifest = errors.New("livearchive: bad manifest")
	// ErrFragment reports a fragblob (header or fragment) whose boxes cannot
	// be stitched; the message names the fragblob, box and offset.
	ErrFragment = errors.New("livearchive: bad fragblob")
)
