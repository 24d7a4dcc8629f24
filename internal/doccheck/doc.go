// Package doccheck holds no code: its tests compile every Go snippet of the
// repository's READMEs, so that a snippet that no longer builds fails CI.
package doccheck
