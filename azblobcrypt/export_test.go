package azblobcrypt

// SetBlockStaged sets the test hook called with the index of each block an
// upload stages.
func SetBlockStaged(o *UploadOptions, f func(index int)) { o.blockStaged = f }
