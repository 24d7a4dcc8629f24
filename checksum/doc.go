// Package checksum computes and verifies the Checksum field of a Media
// Services ContentKey: the first 8 bytes of the content key's AES-ECB
// encryption of its key id in .NET byte order, in base64.
//
// The REST documentation calls this an MD5; it is not. The Java and PHP SDKs
// computed it over the id's text instead; Verify recognises those forms so it
// can say why a legacy checksum fails, but never accepts them.
package checksum
