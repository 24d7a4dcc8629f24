package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
)

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
	return cli.ReadParsed(path, protection.ParseCertificate)
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
		if k, fileID, hasFileID, err = keyfile.ReadAny(*keyFile); err != nil {
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
		if k, err = contentkey.FromBase64(text); err != nil {
			return fmt.Errorf("--key: %w", err)
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
	if err := cli.RefuseExisting(*keyOut, "key file"); err != nil {
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
	if err := writeKeyAndPrint(e, *keyOut, k, id, ck); err != nil {
		return fmt.Errorf("printing the ContentKey entity: %w", err)
	}
	return nil
}

// writeKeyAndPrint writes the key file, then prints v. If printing fails,
// nobody holds the entity or learns where the key went, so the key could
// never be used and a retry must be able to write it again: the key file
// is removed, as on any other failure.
func writeKeyAndPrint(e *cli.Env, path string, k contentkey.Key, id contentkey.ID, v any) error {
	if err := keyfile.Write(path, k, id); err != nil {
		return err
	}
	if err := e.PrintJSON(v); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func readContentKey(path string) (*envelope.ContentKey, error) {
	return cli.ReadParsed(path, envelope.ParseContentKey)
}

// unwrapResult is what unwrap prints: where the key went, never the key.
type unwrapResult struct {
	ID             contentkey.ID `json:"Id"`
	ContentKeyType int
	KeyFile        string
}

func runUnwrap(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "unwrap", "(--pfx FILE | --private-key FILE) --content-key ENTITY.json --key-out FILE")
	pk := fs.PrivateKey()
	entity := fs.String("content-key", "", "the ContentKey entity JSON")
	keyOut := fs.String("key-out", "", "where to write the key file (mode 0600; never overwritten)")
	if err := fs.Parse(args, "content-key", "key-out"); err != nil {
		return err
	}
	if err := cli.RefuseExisting(*keyOut, "key file"); err != nil {
		return err
	}
	ck, err := readContentKey(*entity)
	if err != nil {
		return err
	}
	priv, err := pk.Read(e)
	if err != nil {
		return err
	}
	k, id, err := ck.Open(priv)
	if err != nil {
		return fmt.Errorf("%s: %w", *entity, err)
	}
	return writeKeyAndPrint(e, *keyOut, k, id, unwrapResult{ID: id, ContentKeyType: int(k.Type()), KeyFile: *keyOut})
}

func runRewrap(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "rewrap", "(--key-file FILE | (--pfx FILE | --private-key FILE) --content-key ENTITY.json) --cert NEWCERT [--protection-key-id HEX] [--name NAME]")
	keyFile := fs.String("key-file", "", "a key file holding the clear key and its id")
	pk := fs.PrivateKey()
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
	case *keyFile != "" && pk.Given():
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
		priv, err := pk.Read(e)
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
	return e.PrintJSON(out)
}
