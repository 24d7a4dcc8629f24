package contentkey

// ErrMarshalKey lets the tests check that marshaling fails with the Key's
// own refusal and not some other error.
var ErrMarshalKey = errMarshalKey
