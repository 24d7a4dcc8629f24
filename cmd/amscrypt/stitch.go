package main

import (
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/restore"
)

// warnGaps says on stderr how many stitched tracks have gaps: the exit
// status does not count them (see restore.Report.WithGaps), so that a
// migration of many assets still notices them without reading every report.
func warnGaps(e *cli.Env, r *restore.Report) {
	g := r.WithGaps()
	if len(g) == 0 {
		return
	}
	e.Warnf("restore", "%d stitched track(s) differ from their timeline, first %s (%s); see \"gaps\" in the report", len(g), g[0].Name, g[0].Note)
}
