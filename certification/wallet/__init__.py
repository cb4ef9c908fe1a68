"""Certificates into the holder's wallet: Attesta as an OpenID4VCI 1.0 credential issuer with
the pre-authorized code flow, the certificate as an SD-JWT VC (``dc+sd-jwt``) (issue 23).

In the order things happen:

- :mod:`offers`: on the holder's certificate page "Aggiungi al wallet" makes a one-time offer
  (a pre-authorized code and a transaction code, the PIN, shown on the page); the wallet trades
  the code and the PIN for an access token at the token endpoint, once, within minutes; wrong
  PINs are counted and the offer dies after :data:`~offers.PIN_ATTEMPTS`; the wallet asks the
  nonce endpoint for a ``c_nonce``;
- :mod:`credential`: the credential endpoint checks the wallet's key proof
  (``openid4vci-proof+jwt``: an asymmetric algorithm, a public key without private parts, the
  issuer as ``aud``, a fresh ``iat``, an unused nonce) and signs the certificate's frozen
  content as an SD-JWT VC bound to that key (``cnf.jwk``), every claim selectively
  disclosable, with the ente's wallet key (ECDSA P-256 under Attesta's root CA, ``x5c``); the
  holder's page lists the wallets that took it;
- :mod:`metadata`: what wallets and verifiers read: the credential issuer's and the
  authorization server's metadata, the issuer's keys (``jwt-vc-issuer``) and the type metadata
  of the ``vct``;
- :mod:`status`: the ente's IETF Token Status List, made from its Bitstring Status Lists;
- :mod:`presentation`: checking a holder's presentation (key binding, disclosures, status,
  validity), the core of the employer's wallet check;
- :mod:`requests`: the employer's presentation request (OpenID4VP 1.0: DCQL, nonce,
  ``direct_post``) and the wallet's answer to it.

JOSE and SD-JWT are never written by hand here: the OpenWallet Foundation's ``sd-jwt`` reference
implementation makes the disclosures and the signed SD-JWT, ``jwcrypto`` (which it is built on)
checks the key proofs.
"""

__all__ = ["credential", "metadata", "offers", "presentation", "requests", "status"]
