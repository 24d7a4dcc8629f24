package envelope

import "fmt"

// IngestManifest is the body of POST /IngestManifests: {"Name":"…"}.
type IngestManifest struct {
	// Name is the manifest's display name.
	Name string
}

// Request returns POST /IngestManifests with m as its body.
func (m *IngestManifest) Request() (Request, error) {
	return Request{Method: MethodPost, Path: "/IngestManifests", Body: m}, nil
}

// EntityRef is a reference to an entity by id, {"Id":"…"}, as the Asset of
// an IngestManifestAsset.
type EntityRef struct {
	// ID is the referenced entity's id.
	ID EntityID `json:"Id"`
}

// IngestManifestAsset is the body of POST /IngestManifestAssets, which puts
// an asset into a manifest:
//
//	{"ParentIngestManifestId":"nb:mid:UUID:…","Asset":{"Id":"nb:cid:UUID:…"}}
type IngestManifestAsset struct {
	// ParentIngestManifestID is the manifest (nb:mid:).
	ParentIngestManifestID EntityID `json:"ParentIngestManifestId"`
	// Asset refers to the asset (nb:cid:) to complete by bulk ingest.
	Asset EntityRef
}

// NewIngestManifestAsset returns the body linking asset into manifest.
func NewIngestManifestAsset(manifest, asset EntityID) (*IngestManifestAsset, error) {
	a := &IngestManifestAsset{ParentIngestManifestID: manifest, Asset: EntityRef{ID: asset}}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *IngestManifestAsset) validate() error {
	if err := a.ParentIngestManifestID.check(KindManifest); err != nil {
		return fmt.Errorf("%w: IngestManifestAsset field ParentIngestManifestId: %w", errRequest, err)
	}
	if err := a.Asset.ID.check(KindContent); err != nil {
		return fmt.Errorf("%w: IngestManifestAsset field Asset.Id: %w", errRequest, err)
	}
	return nil
}

// Request returns POST /IngestManifestAssets with a as its body.
func (a *IngestManifestAsset) Request() (Request, error) {
	if err := a.validate(); err != nil {
		return Request{}, err
	}
	return Request{Method: MethodPost, Path: "/IngestManifestAssets", Body: a}, nil
}
