// Package units writes byte counts for people, in binary units, the one
// way the progress line and the inventory report show them.
package units

import "fmt"

// Bytes returns n as "123 B", "1.5 KiB", "2.0 GiB", ….
func Bytes(n int64) string {
	const unit = 1 << 10
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
