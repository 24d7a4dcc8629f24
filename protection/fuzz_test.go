package protection_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/protection"
)

// FuzzParseCertificate feeds all four encodings. Anything accepted must give
// the same thumbprint when re-read as DER, PEM-less base64 and JSON.
func FuzzParseCertificate(f *testing.F) {
	for _, name := range []string{"ams-protection-cert.b64", "ams-protection-cert.der", "ams-protection-cert.pem",
		"ams-protection-cert.json", "rsa2048.crt.der", "ec-p256.crt.pem", "invalid-truncated.der"} {
		f.Add(mustRead(name))
	}
	f.Add([]byte(`{"value":""}`))
	f.Add([]byte(`{"d":{"GetProtectionKey":"MA=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := protection.ParseCertificate(data)
		if err != nil {
			return
		}
		der := c.DER()
		b64 := base64.StdEncoding.EncodeToString(der)
		for _, form := range [][]byte{der, []byte(b64), []byte(`{"value":"` + b64 + `"}`)} {
			c2, err := protection.ParseCertificate(form)
			if err != nil {
				t.Fatalf("accepted certificate does not re-parse: %v", err)
			}
			if c2.Thumbprint() != c.Thumbprint() || !bytes.Equal(c2.DER(), der) {
				t.Fatal("thumbprint changed on re-parse")
			}
		}
	})
}

func FuzzParseThumbprint(f *testing.F) {
	f.Add("7D9BB04D9D0A4A24800CADBFEF232689E048F69C")
	f.Add("\u200e7d9bb04d9d0a4a24800cadbfef232689e048f69c")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := protection.ParseThumbprint(s)
		if err != nil {
			return
		}
		if len(tp) != protection.ThumbprintHexLen {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		if again, err := protection.ParseThumbprint(tp); err != nil || again != tp {
			t.Fatal("thumbprint does not round-trip")
		}
	})
}

// pfxSeeds returns every PFX of pfx.json with its password.
func pfxSeeds(f *testing.F) (files [][]byte, passwords []string) {
	var file struct {
		Vectors []struct {
			File     string `json:"file"`
			Password string `json:"password"`
		}
	}
	if err := json.Unmarshal(mustRead("pfx.json"), &file); err != nil {
		f.Fatal(err)
	}
	for _, v := range file.Vectors {
		files = append(files, mustRead(v.File))
		passwords = append(passwords, v.Password)
	}
	if len(files) < 5 {
		f.Fatalf("only %d PFX seeds", len(files))
	}
	return files, passwords
}

// FuzzParsePFX starts from every PFX in testdata with its right password and
// a wrong one. Whatever is accepted is an RSA key with the certificate it
// belongs to; whatever is refused says why with one of the package's errors,
// in one line free of asn1 dumps and of the password.
func FuzzParsePFX(f *testing.F) {
	files, passwords := pfxSeeds(f)
	for i, data := range files {
		f.Add(data, passwords[i])
		f.Add(data, "wrong-§-password")
	}
	f.Add(mustRead("rsa2048.pkcs8.key.pem"), "")
	f.Add([]byte(base64.StdEncoding.EncodeToString(files[0])), "")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		priv, cert, err := protection.ParsePFX(data, password)
		if err != nil {
			if !errors.Is(err, protection.ErrInvalid) && !errors.Is(err, protection.ErrPFXPassword) {
				t.Fatalf("error matches none of the package's sentinels: %v", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "asn1") || strings.Contains(msg, "{class:") || strings.Count(msg, "protection:") != 1 {
				t.Fatalf("error %q leaks an asn1 dump or repeats the package", msg)
			}
			// '§' appears in no message of ours, so a password with it
			// shows up in one only by leaking.
			if strings.ContainsRune(password, '§') && strings.Contains(msg, password) {
				t.Fatalf("error %q holds the password", msg)
			}
			return
		}
		if err := priv.Validate(); err != nil {
			t.Fatalf("accepted an invalid RSA key: %v", err)
		}
		if !priv.PublicKey.Equal(cert.PublicKey()) {
			t.Fatal("accepted a key that is not the certificate's")
		}
		again, err := protection.ParseCertificate(cert.DER())
		if err != nil || again.Thumbprint() != cert.Thumbprint() {
			t.Fatalf("the PFX's certificate does not re-parse alone: %v", err)
		}
	})
}

// FuzzParsePrivateKeyPEM: an accepted key is a valid RSA key that reads back
// the same from both PEM forms it may come in; a refused one gets one of the
// package's errors, without key material.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	for _, name := range []string{"rsa2048.pkcs1.key.pem", "rsa2048.pkcs8.key.pem", "rsa1024.pkcs8.key.pem",
		"ec-p256.pkcs8.key.pem", "rsa2048.crt.pem"} {
		f.Add(mustRead(name))
	}
	f.Add(append(mustRead("rsa2048.crt.pem"), mustRead("rsa2048.pkcs1.key.pem")...))
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		priv, err := protection.ParsePrivateKeyPEM(data)
		if err != nil {
			if !errors.Is(err, protection.ErrInvalid) {
				t.Fatalf("error matches none of the package's sentinels: %v", err)
			}
			if strings.Count(err.Error(), "protection:") != 1 || strings.Contains(err.Error(), "asn1") {
				t.Fatalf("error %q repeats the package or leaks an asn1 dump", err)
			}
			return
		}
		if err := priv.Validate(); err != nil {
			t.Fatalf("accepted an invalid RSA key: %v", err)
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range []*pem.Block{
			{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)},
			{Type: "PRIVATE KEY", Bytes: pkcs8},
		} {
			again, err := protection.ParsePrivateKeyPEM(pem.EncodeToMemory(block))
			if err != nil || !again.Equal(priv) {
				t.Fatalf("%s form does not read back: %v", block.Type, err)
			}
		}
	})
}
