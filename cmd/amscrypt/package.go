package main

import (
	"errors"
	"fmt"

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

Packages an asset straight from its ciphertext into CMAF HLS and DASH:
master.m3u8 and manifest.mpd at the root of --out (under NAME/ for each
NAME.ism when there are several), and per track an init segment, media
segments and a playlist, WebVTT copied. The .ism names the tracks (else
every MP4 and WebVTT file does); live archives are stitched; samples are
never changed. Segments start at the video's sync samples, aligned across
renditions. Each is one ranged read of the ciphertext; each output appears
whole, the manifests last, and a run again keeps what is complete. --keys
and --in are as for restore; a clear asset needs no --keys. Prints a JSON
report.`

func runPackage(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "package", packageSynopsis)
	k := fs.KeyExports()
	in := fs.String("in", "", inUsage)
	out := fs.String("out", "", "where the package goes: a directory or a container SAS URL (@FILE reads it from FILE)")
	segDur := fs.Duration("segment-duration", cmaf.DefaultSegmentDuration, cmaf.MinSegmentDuration, cmaf.MaxSegmentDuration,
		"target segment duration, 1s to 1m; segments are as long as the GOPs force")
	workers := fs.Workers(0, 64, "segments in flight (default 4)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	giveUp := giveUpAfter(fs)
	if err := fs.Parse(args, "in", "out"); err != nil {
		return err
	}
	a, err := openAsset(e, k, k.Keys, *in, *out, false, &azblobcrypt.ContainerOptions{GiveUpAfter: *giveUp})
	if err != nil {
		return err
	}
	var files cmaf.Files
	failed := 0
	if a.Plan == nil {
		if files, err = cmaf.SourceFiles(e.Ctx, a.Source); err != nil {
			return err
		}
	} else {
		s, err := serve.New(e.Ctx, a.Source, a.Plan, &serve.Options{Workers: *workers})
		if err != nil {
			return err
		}
		idx, err := s.Index()
		if err != nil {
			return err
		}
		if len(s.Names()) == 0 && len(idx.Files) > 0 {
			// Else: "the asset has no .ism and no MP4 file", of an asset
			// that has them.
			return fmt.Errorf("the key exports match none of the %d files of %s, and name %d files it does not hold: are they this asset's?",
				idx.Summary[restore.StatusUnmatched], quote.Input(a.In), idx.Summary[restore.StatusMissing])
		}
		failed = idx.Summary[restore.StatusFailed]
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
	if failed > 0 {
		// None of them a video or audio file of the package, which would
		// have failed it.
		e.Warnf("package", "%d files failed their check and are not in the package (restore --check says why)", failed)
	}
	return e.PrintJSON(rep)
}
