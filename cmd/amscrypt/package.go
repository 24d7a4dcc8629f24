package main

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

const packageSynopsis = `[--keys FILE ...] [--pfx FILE | --private-key FILE]
       --in DIR|URL --out DIR|URL [--segment-duration 6s]

Packages an asset straight from its ciphertext into CMAF HLS and DASH that
any static server or CDN can serve: master.m3u8 and manifest.mpd at the
root of --out (under NAME/ for each NAME.ism when the asset has several),
and beside them, per track, a CMAF init segment, its media segments
(NAME-00001.m4s, …) and an HLS media playlist; WebVTT text tracks are
copied. Both manifests name the same media. The asset's .ism says which
files and tracks make the presentation (video renditions, audio in every
language, text); without one, every MP4 and WebVTT file does. A live
archive's tracks are stitched first. Samples are copied unchanged.

Segments start at sync samples of the video, aligned across renditions,
at least --segment-duration apart. Nothing is staged on disk: each
segment is one ranged read of the ciphertext, decrypted in memory. Each
output appears whole or not at all, the manifests last; a run that was
stopped finishes when run again, keeping what is complete. --keys and
--in are as for restore; an asset that is not storage-encrypted needs no
--keys. Prints a JSON report.`

func runPackage(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "package", packageSynopsis)
	var k keyFlags
	k.define(fs)
	in := fs.String("in", "", inUsage)
	out := fs.String("out", "", "where the package goes: a directory or a container SAS URL (@FILE reads it from FILE)")
	segDur := fs.Duration("segment-duration", cmaf.DefaultSegmentDuration, "target segment duration, 1s to 1m; segments are as long as the GOPs force")
	workers := fs.Workers(0, 64, "segments in flight (default 4)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	var giveUp giveUpAfter
	giveUp.define(fs)
	if err := fs.Parse(args, "in", "out"); err != nil {
		return err
	}
	if err := giveUp.check(); err != nil {
		return err
	}
	if *segDur < cmaf.MinSegmentDuration || *segDur > cmaf.MaxSegmentDuration {
		return cli.Usagef("--segment-duration %v: want 1s to 1m", *segDur)
	}
	a, err := k.open(e, k.keys, *in, *out, false, &azblobcrypt.ContainerOptions{GiveUpAfter: giveUp.d})
	if err != nil {
		return err
	}
	var files cmaf.Files
	if a.Plan == nil {
		if files, err = cmaf.SourceFiles(e.Ctx, a.Source); err != nil {
			return err
		}
	} else {
		s, err := serve.New(e.Ctx, a.Source, a.Plan, &serve.Options{Workers: *workers})
		if err != nil {
			return err
		}
		if idx, err := s.Index(); err == nil && idx.Summary[restore.StatusFailed] > 0 {
			// An .ism left out would silently change what is packaged:
			// every MP4 of the asset (or the other .ism alone) instead of
			// the presentation it describes.
			for _, f := range idx.Files {
				if f.Status == restore.StatusFailed && strings.EqualFold(path.Ext(f.Name), ".ism") {
					return fmt.Errorf("%s failed its check (%s); the presentation it describes cannot be packaged", quote.Input(f.Name), f.Error)
				}
			}
			e.Warnf("package", "%d files failed their check and are left out (restore --check says why)", idx.Summary[restore.StatusFailed])
		}
		files = s
	}
	p := cli.NewProgress(e, *quiet, "package", 0)
	rep, err := cmaf.Package(e.Ctx, a.Sink, files, &cmaf.Options{SegmentDuration: *segDur, Workers: *workers, Progress: p.UpdateCount})
	p.Finish()
	if err != nil && a.Plan == nil && (errors.Is(err, cmaf.ErrMedia) || errors.Is(err, livearchive.ErrManifest)) {
		return fmt.Errorf("%w (without --keys the files are read as stored: is the asset storage-encrypted?)", err)
	}
	if err != nil {
		return err
	}
	return printJSON(e, rep)
}
