// Package bench holds the project's benchmarks, run with
//
//	go test -run '^$' -bench . -benchmem ./bench/
//
// Each measures a hot path beside its baseline in the same run (the standard
// library's raw AES-256-CTR for the file cipher), so the README can report
// ratios rather than machine-dependent MB/s. bench/compare times the amscrypt
// CLI against openssl enc. The package has no non-test code.
package bench
