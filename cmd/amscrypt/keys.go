package main

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
)

// pfxPasswordEnv names the variable that carries a PFX password: flags show
// in ps, the environment does not.
const pfxPasswordEnv = "AMSCRYPT_PFX_PASSWORD"

func runThumbprint(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "thumbprint", "--cert FILE")
	certPath := fs.String("cert", "", "certificate: DER, PEM, base64 DER, or a GetProtectionKey JSON body")
	if err := fs.Parse(args, "cert"); err != nil {
		return err
	}
	cert, err := readCertificate(*certPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, cert.Thumbprint())
	return nil
}

func readCertificate(path string) (*protection.Certificate, error) {
	return readParsed(path, protection.ParseCertificate)
}

// readPinnedCertificate reads a certificate and, when pin is set, checks its
// thumbprint before anything is wrapped to it.
func readPinnedCertificate(path, pin string) (*protection.Certificate, error) {
	cert, err := readCertificate(path)
	if err != nil {
		return nil, err
	}
	if pin != "" {
		if err := cert.CheckThumbprint(pin); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if _, err := cert.RSAPublicKey(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

func runChecksum(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "checksum", "(--key BASE64|- | --key-file FILE) [--key-id ID]")
	keyB64 := fs.String("key", "", "the content key in base64 (16 bytes: AES-128, 32 bytes: AES-256), or - to read it from stdin; prefer --key-file")
	keyID := fs.String("key-id", "", "the content key id: nb:kid:UUID:<guid> or a bare GUID (required unless the key file holds it)")
	keyFile := fs.String("key-file", "", "a key file written by keygen or unwrap (holds key and id), or a file holding just the key, raw or in base64")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		id, fileID contentkey.ID
		k          contentkey.Key
		hasFileID  bool
		err        error
	)
	switch {
	case *keyFile != "" && *keyB64 != "":
		return cli.Usagef("give either --key-file or --key, not both")
	case *keyFile != "":
		if fileID, k, hasFileID, err = readChecksumKeyFile(*keyFile); err != nil {
			return err
		}
	case *keyB64 != "":
		text := *keyB64
		if text == "-" {
			b, err := io.ReadAll(io.LimitReader(e.Stdin, 4096))
			if err != nil {
				return fmt.Errorf("--key -: reading Stdin: %w", err)
			}
			defer clear(b)
			text = strings.TrimSpace(string(b))
		}
		if k, err = keyFromBase64(text, "--key"); err != nil {
			return err
		}
	default:
		return cli.Usagef("give --key-file, or --key with --key-id")
	}
	switch {
	case *keyID != "":
		if id, err = contentkey.ParseID(*keyID); err != nil {
			return fmt.Errorf("--key-id: %w", err)
		}
		if hasFileID && id != fileID {
			return fmt.Errorf("--key-id %s is not the key file's Id %s", id, fileID)
		}
	case hasFileID:
		id = fileID
	default:
		return cli.Usagef("--key-id is required: the key given holds no id")
	}
	sum, err := checksum.Compute(k, id)
	if err != nil {
		return err
	}
	if *keyB64 != "" && *keyB64 != "-" {
		// After success, so that a refusal stays one line.
		fmt.Fprintln(e.Stderr, "amscrypt checksum: warning: a key given with --key is visible to other users in the process list; use --key-file or --key -")
	}
	fmt.Fprintln(e.Stdout, sum)
	return nil
}

// readChecksumKeyFile reads a key file as keygen writes it (which holds the
// id too), or a file holding only the key: 16 or 32 raw bytes, or their
// base64. A file that starts like JSON must be a valid key file.
func readChecksumKeyFile(path string) (contentkey.ID, contentkey.Key, bool, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return contentkey.ID{}, contentkey.Key{}, false, err
	}
	defer clear(data)
	if text := bytes.TrimSpace(data); len(text) > 0 && text[0] == '{' {
		k, id, err := keyfile.Decode(data)
		if err != nil {
			return id, k, false, fmt.Errorf("%s: %w", path, err)
		}
		return id, k, true, nil
	}
	if n := len(data); n == contentkey.AES128KeySize || n == contentkey.StorageKeySize {
		k, err := keyFromRaw(data, path)
		return contentkey.ID{}, k, false, err
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil {
		return contentkey.ID{}, contentkey.Key{}, false, fmt.Errorf(
			"%s: holds neither a key file, nor a 16- or 32-byte raw key, nor a key in base64 (%d bytes)", path, len(data))
	}
	defer clear(raw)
	k, err := keyFromRaw(raw, path)
	return contentkey.ID{}, k, false, err
}

// keyFromBase64 decodes a key for checksum from base64; what names its
// source (a flag or a file) for errors.
func keyFromBase64(text, what string) (contentkey.Key, error) {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return contentkey.Key{}, fmt.Errorf("%s: not valid base64%s", what, hexHint(text))
	}
	defer clear(raw)
	k, err := keyFromRaw(raw, what)
	if err != nil {
		return k, fmt.Errorf("%w%s", err, hexHint(text))
	}
	return k, nil
}

// hexHint explains the commonest mistake: a key in hex where base64 is
// wanted (32 hex digits decode as base64 to 24 bytes, 64 to 48).
func hexHint(text string) string {
	if n := len(text); (n == 2*contentkey.AES128KeySize || n == 2*contentkey.StorageKeySize) && isHex(text) {
		return fmt.Sprintf("; the key is taken as base64, and this looks like %d bytes in hex: convert it with: echo %s | xxd -r -p | base64", n/2, "<hex>")
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// keyFromRaw makes a key for checksum: its length picks AES-128 (16 bytes)
// or AES-256 (32 bytes); nothing else is a content key.
func keyFromRaw(raw []byte, what string) (contentkey.Key, error) {
	switch len(raw) {
	case contentkey.StorageKeySize:
		return contentkey.FromBytes(contentkey.StorageEncryption, raw)
	case contentkey.AES128KeySize:
		return contentkey.FromBytes(contentkey.CommonEncryption, raw)
	}
	return contentkey.Key{}, fmt.Errorf("%s: %w: a content key is 16 or 32 bytes, got %d", what, contentkey.ErrInvalidKey, len(raw))
}

// parseKeyType accepts "storage" and the other short names besides every
// ContentKeyType name and number.
func parseKeyType(s string) (contentkey.Type, error) {
	switch strings.ToLower(s) {
	case "storage":
		return contentkey.StorageEncryption, nil
	case "common", "cenc":
		return contentkey.CommonEncryption, nil
	case "cbcs":
		return contentkey.CommonEncryptionCbcs, nil
	case "envelope":
		return contentkey.EnvelopeEncryption, nil
	}
	t, err := contentkey.ParseType(s)
	if err != nil {
		return 0, fmt.Errorf("--type: %w", err)
	}
	if _, err := t.KeySize(); err != nil {
		return 0, fmt.Errorf("--type: %w", err)
	}
	return t, nil
}

func runKeygen(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "keygen", "--cert FILE [--protection-key-id HEX] [--type storage] [--name NAME] --key-out FILE")
	certPath := fs.String("cert", "", "the account's protection certificate (DER, PEM, base64, or GetProtectionKey JSON)")
	pin := fs.String("protection-key-id", "", "the thumbprint the certificate must have (from GetProtectionKeyId)")
	typeName := fs.String("type", "storage", "ContentKeyType: storage, common, cbcs, envelope, or a REST name or number")
	name := fs.String("name", "", "the ContentKey's Name")
	keyOut := fs.String("key-out", "", "where to write the key file (mode 0600; never overwritten)")
	if err := fs.Parse(args, "cert", "key-out"); err != nil {
		return err
	}
	typ, err := parseKeyType(*typeName)
	if err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	if err := refuseExisting(*keyOut, "key file"); err != nil {
		return err
	}
	cert, err := readPinnedCertificate(*certPath, *pin)
	if err != nil {
		return err
	}
	k, err := contentkey.New(typ)
	if err != nil {
		return err
	}
	id, err := contentkey.NewID()
	if err != nil {
		return err
	}
	ck, err := envelope.NewContentKey(k, id, cert, *name)
	if err != nil {
		return err
	}
	if err := keyfile.Write(*keyOut, k, id); err != nil {
		return err
	}
	if err := printJSON(e, ck); err != nil {
		// Nobody holds the entity, so the new key could never be used:
		// leave nothing, as on any other failure.
		os.Remove(*keyOut)
		return fmt.Errorf("printing the ContentKey entity: %w", err)
	}
	return nil
}

// readPrivateKey loads the private key from --pfx (password from the
// environment) or --private-key (PEM); exactly one must be set.
func readPrivateKey(e *cli.Env, pfxPath, pemPath string) (*rsa.PrivateKey, error) {
	switch {
	case pfxPath != "" && pemPath != "":
		return nil, cli.Usagef("give either --pfx or --private-key, not both")
	case pfxPath != "":
		data, err := smallfile.Read(pfxPath)
		if err != nil {
			return nil, err
		}
		priv, _, err := protection.ParsePFX(data, e.Getenv(pfxPasswordEnv))
		if errors.Is(err, protection.ErrPFXPassword) {
			return nil, fmt.Errorf("%s: %w (the password is read from %s; unset means empty)", pfxPath, err, pfxPasswordEnv)
		}
		if errors.Is(err, protection.ErrNotPFX) {
			return nil, fmt.Errorf("%s: %w (--private-key takes a PEM private key)", pfxPath, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pfxPath, err)
		}
		return priv, nil
	case pemPath != "":
		data, err := smallfile.Read(pemPath)
		if err != nil {
			return nil, err
		}
		defer clear(data)
		priv, err := protection.ParsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pemPath, err)
		}
		return priv, nil
	}
	return nil, cli.Usagef("give --pfx FILE or --private-key FILE")
}

func readContentKey(path string) (*envelope.ContentKey, error) {
	return readParsed(path, envelope.ParseContentKey)
}

// unwrapResult is what unwrap prints: where the key went, never the key.
type unwrapResult struct {
	ID             contentkey.ID `json:"Id"`
	ContentKeyType int
	KeyFile        string
}

func runUnwrap(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "unwrap", "(--pfx FILE | --private-key FILE) --content-key ENTITY.json --key-out FILE")
	pfxPath := fs.String("pfx", "", "PFX/PKCS#12 file with the private key; password from $"+pfxPasswordEnv)
	pemPath := fs.String("private-key", "", "PEM private key (PKCS#1 or PKCS#8)")
	entity := fs.String("content-key", "", "the ContentKey entity JSON")
	keyOut := fs.String("key-out", "", "where to write the key file (mode 0600; never overwritten)")
	if err := fs.Parse(args, "content-key", "key-out"); err != nil {
		return err
	}
	if err := refuseExisting(*keyOut, "key file"); err != nil {
		return err
	}
	ck, err := readContentKey(*entity)
	if err != nil {
		return err
	}
	priv, err := readPrivateKey(e, *pfxPath, *pemPath)
	if err != nil {
		return err
	}
	k, id, err := ck.Open(priv)
	if err != nil {
		return fmt.Errorf("%s: %w", *entity, err)
	}
	if err := keyfile.Write(*keyOut, k, id); err != nil {
		return err
	}
	if err := printJSON(e, unwrapResult{ID: id, ContentKeyType: int(k.Type()), KeyFile: *keyOut}); err != nil {
		// Nobody learns where the key went, so a retry must be able to
		// write it again: leave nothing, as keygen does.
		os.Remove(*keyOut)
		return err
	}
	return nil
}

func runRewrap(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "rewrap", "(--key-file FILE | (--pfx FILE | --private-key FILE) --content-key ENTITY.json) --cert NEWCERT [--protection-key-id HEX] [--name NAME]")
	keyFile := fs.String("key-file", "", "a key file holding the clear key and its id")
	pfxPath := fs.String("pfx", "", "PFX/PKCS#12 file that unwraps --content-key; password from $"+pfxPasswordEnv)
	pemPath := fs.String("private-key", "", "PEM private key that unwraps --content-key")
	entity := fs.String("content-key", "", "the ContentKey entity JSON to re-wrap")
	certPath := fs.String("cert", "", "the new protection certificate")
	pin := fs.String("protection-key-id", "", "the thumbprint the new certificate must have")
	name := fs.String("name", "", "the ContentKey's Name (default: the entity's)")
	if err := fs.Parse(args, "cert"); err != nil {
		return err
	}
	switch {
	case *keyFile != "" && *entity != "":
		return cli.Usagef("give either --key-file or --content-key, not both")
	case *keyFile != "" && (*pfxPath != "" || *pemPath != ""):
		// The key file holds the clear key: a private key given beside it
		// would be silently unused.
		return cli.Usagef("--pfx and --private-key open --content-key; --key-file needs neither")
	}
	cert, err := readPinnedCertificate(*certPath, *pin)
	if err != nil {
		return err
	}
	var out *envelope.ContentKey
	switch {
	case *keyFile != "":
		k, id, err := keyfile.Read(*keyFile)
		if err != nil {
			return err
		}
		if out, err = envelope.NewContentKey(k, id, cert, *name); err != nil {
			return err
		}
	case *entity != "":
		ck, err := readContentKey(*entity)
		if err != nil {
			return err
		}
		priv, err := readPrivateKey(e, *pfxPath, *pemPath)
		if err != nil {
			return err
		}
		if out, err = envelope.Rewrap(ck, priv, cert); err != nil {
			return fmt.Errorf("%s: %w", *entity, err)
		}
		if *name != "" {
			out.Name = *name
		}
	default:
		return cli.Usagef("give --key-file, or --content-key with --pfx or --private-key")
	}
	return printJSON(e, out)
}
