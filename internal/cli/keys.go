package cli

import (
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/protection"
)

// PFXPasswordEnv names the variable that carries a PFX password: flags show
// in ps, the environment does not.
const PFXPasswordEnv = "AMSCRYPT_PFX_PASSWORD"

// PrivateKeyFlags are --pfx and --private-key, which every command that
// opens ContentKey entities takes.
type PrivateKeyFlags struct{ pfx, pem *string }

// PrivateKey defines --pfx and --private-key.
func (fs *FlagSet) PrivateKey() *PrivateKeyFlags {
	return &PrivateKeyFlags{
		pfx: fs.String("pfx", "", "PFX/PKCS#12 file that opens ContentKey entities; password from $"+PFXPasswordEnv),
		pem: fs.String("private-key", "", "PEM private key (PKCS#1 or PKCS#8) that opens ContentKey entities"),
	}
}

// Given reports whether either flag names a private key.
func (k *PrivateKeyFlags) Given() bool { return *k.pfx != "" || *k.pem != "" }

// Read loads the private key from --pfx (password from the environment)
// or --private-key (PEM); exactly one must be set.
func (k *PrivateKeyFlags) Read(e *Env) (*rsa.PrivateKey, error) {
	switch {
	case *k.pfx != "" && *k.pem != "":
		return nil, Usagef("give either --pfx or --private-key, not both")
	case *k.pfx != "":
		data, err := smallfile.Read(*k.pfx)
		if err != nil {
			return nil, err
		}
		priv, _, err := protection.ParsePFX(data, e.Getenv(PFXPasswordEnv))
		switch {
		case errors.Is(err, protection.ErrPFXPassword):
			return nil, fmt.Errorf("%s: %w (the password is read from %s; unset means empty)", *k.pfx, err, PFXPasswordEnv)
		case errors.Is(err, protection.ErrNotPFX):
			return nil, fmt.Errorf("%s: %w (--private-key takes a PEM private key)", *k.pfx, err)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", *k.pfx, err)
		}
		return priv, nil
	case *k.pem != "":
		data, err := smallfile.Read(*k.pem)
		if err != nil {
			return nil, err
		}
		defer clear(data)
		priv, err := protection.ParsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", *k.pem, err)
		}
		return priv, nil
	}
	return nil, Usagef("give --pfx FILE or --private-key FILE")
}

// IfGiven is Read when a flag names a private key, and nil otherwise.
func (k *PrivateKeyFlags) IfGiven(e *Env) (*rsa.PrivateKey, error) {
	if !k.Given() {
		return nil, nil
	}
	return k.Read(e)
}

// KeyFlags are --keys (any number of key exports) with --pfx and
// --private-key, which restore, serve, manifest and inventory share.
type KeyFlags struct {
	Keys Strings
	*PrivateKeyFlags
}

// KeyExports defines --keys, --pfx and --private-key.
func (fs *FlagSet) KeyExports() *KeyFlags {
	k := &KeyFlags{}
	fs.Var(&k.Keys, "keys", "a key export document (repeatable)")
	k.PrivateKeyFlags = fs.PrivateKey()
	return k
}

// Plan reads the key exports at paths and merges them
// (keyexport.ReadPlan). The private key is read only when a flag names one.
func (k *KeyFlags) Plan(e *Env, paths []string) (*keyexport.Plan, error) {
	priv, err := k.IfGiven(e)
	if err != nil {
		return nil, err
	}
	return keyexport.ReadPlan(paths, &keyexport.Options{PrivateKey: priv})
}
