package media

import (
	"errors"
	"fmt"
)

// ErrStructure is wrapped by every error for a file whose structure does not
// hold: truncated, cut inside a box or packet, or followed by bytes its
// structure does not account for. A file that fails its head check wraps
// ErrHeadMismatch instead: that is a wrong key or IV, not a damaged file.
var ErrStructure = errors.New("media: the file's structure does not hold")

// StructureError says what the verifier found and where. Its message never
// shows more of the file than a short quoted snippet.
type StructureError struct {
	Format Format
	// Offset is where in the file the fault is: the start of the box,
	// packet, chunk, segment, line or token that does not hold.
	Offset int64
	// What says what was found, e.g. "mdat box at 1234 declares 5000000
	// bytes, the file ends at 2500000".
	What string
}

func (e *StructureError) Error() string { return "media: " + e.What }

// Is makes errors.Is(err, ErrStructure) hold for every StructureError.
func (e *StructureError) Is(target error) bool { return target == ErrStructure }

func structErr(f Format, off int64, format string, args ...any) *StructureError {
	return &StructureError{Format: f, Offset: off, What: fmt.Sprintf(format, args...)}
}
