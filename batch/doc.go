// Package batch restores many assets, one JSON line each (Line): Run
// restores the lines of a batch file several assets at once, their files
// taking turns in one restore.Pool, so that memory stays one restore.Run's
// whatever the number of assets, and gives one Report per asset as it
// finishes. A Shard splits a batch over machines with no coordination.
//
// It opens nothing itself: the caller's open function makes each line's
// Asset (the amscrypt command opens directories and, through azblobcrypt,
// blob containers), so that the package links no Azure code.
package batch
