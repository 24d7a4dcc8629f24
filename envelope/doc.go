// Package envelope builds and reads the REST bodies of the Media Services v2
// storage-encryption upload: the ContentKey entity, the AssetFile and
// IngestManifestFile encryption fields, and the other requests of the upload
// and bulk-ingest flows, each with the method and path it goes to.
//
// Everything built here is validated before it can be sent (file names,
// entity id kinds, the AccessPolicy duration the service needs), and
// everything parsed is read the way the service wrote it (booleans and
// integers as JSON values or strings, OData verbose {"d": …} wrappers) but
// checked strictly where a wrong value would corrupt data: key ids, IVs,
// checksums and the encryption scheme. This package does no HTTP: callers
// join Request.Path to the account's API base URI and send Request.Body as
// JSON.
package envelope
