/**
 * Samba's tools for the throwaway AD domain: `samba-tool domain provision` and `exportkeytab`,
 * and a small python3-samba program for everything else (accounts, SPNs, enctypes, passwords,
 * groups), which works on the domain's database directly, in one transaction per call: 1,000
 * groups take ~3 s this way against ~0.3 s per `samba-tool group add`. Passwords go to stdin.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { realmError } from '../realmError.js';
import { runProgram, type ToolOutput } from '../tools.js';

/** python3-samba is a Debian package for the system interpreter, not for a pyenv or venv one. */
const kPython = '/usr/bin/python3';

const kAdminScript = String.raw`
import sys
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
import ldb

conf, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())

def account(name):
    res = db.search(base=base, scope=ldb.SCOPE_SUBTREE,
                    expression="(sAMAccountName=%s)" % ldb.binary_encode(name), attrs=[])
    if len(res) != 1:
        raise SystemExit("no account named %s" % name)
    return res[0].dn

UF_TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000

def password():
    return sys.stdin.readline().rstrip("\n")

def replace(name, attr, values):
    m = ldb.Message(account(name))
    m[attr] = ldb.MessageElement(values, ldb.FLAG_MOD_REPLACE, attr)
    db.modify(m)

if op == "user":  # user NAME [SPN...]: a user that never expires, password on stdin
    name, spns = args[0], args[1:]
    db.newuser(name, password())
    db.setexpiry("(sAMAccountName=%s)" % ldb.binary_encode(name), 0, no_expiry_req=True)
    if spns:
        replace(name, "servicePrincipalName", spns)
elif op == "enctypes":  # enctypes NAME BITS: msDS-SupportedEncryptionTypes
    replace(args[0], "msDS-SupportedEncryptionTypes", args[1])
elif op == "delegate":  # delegate NAME 0|1 [SPN...]: constrained delegation to SPNs; 1 = protocol transition
    name, transition, spns = args[0], args[1] == "1", args[2:]
    dn = account(name)
    uac = int(db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["userAccountControl"])[0]["userAccountControl"][0])
    uac = (uac | UF_TRUSTED_TO_AUTH_FOR_DELEGATION) if transition else (uac & ~UF_TRUSTED_TO_AUTH_FOR_DELEGATION)
    m = ldb.Message(dn)
    m["userAccountControl"] = ldb.MessageElement(str(uac), ldb.FLAG_MOD_REPLACE, "userAccountControl")
    m["msDS-AllowedToDelegateTo"] = ldb.MessageElement(spns, ldb.FLAG_MOD_REPLACE, "msDS-AllowedToDelegateTo")
    db.modify(m)
elif op == "upn":  # upn NAME UPN: userPrincipalName
    replace(args[0], "userPrincipalName", args[1])
elif op == "setpassword":  # setpassword NAME, password on stdin
    db.setpassword("(sAMAccountName=%s)" % ldb.binary_encode(args[0]), password())
elif op == "groups":  # groups USER PREFIX N: USER is in exactly PREFIX00001..PREFIX<N>
    user, prefix, n = args[0], args[1], int(args[2])
    udn = str(account(user))
    have = {str(m["sAMAccountName"][0]): m.dn for m in db.search(
        base=base, scope=ldb.SCOPE_SUBTREE, attrs=["sAMAccountName"],
        expression="(&(objectClass=group)(sAMAccountName=%s*))" % ldb.binary_encode(prefix))}
    want = set("%s%05d" % (prefix, i) for i in range(1, n + 1))
    db.transaction_start()
    try:
        for name, dn in have.items():
            if name not in want:
                db.delete(dn)
        for name in sorted(want - set(have)):
            db.add({"dn": "CN=%s,CN=Users,%s" % (name, base), "objectClass": "group",
                    "sAMAccountName": name, "member": [udn]})
        db.transaction_commit()
    except Exception:
        db.transaction_cancel()
        raise
else:
    raise SystemExit("unknown operation " + op)
`;

const kSambaPackages = 'samba samba-ad-dc samba-ad-provision python3-samba';

async function findExecutable(name: string): Promise<string> {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs.filter((d) => path.isAbsolute(d))) {
    try {
      await fs.access(path.join(dir, name), fsConstants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  throw realmError(`${name} not found: install it with: apt-get install -y ${kSambaPackages}`);
}

/** Absolute path of Samba's `samba` daemon. */
export function sambaDaemon(): Promise<string> {
  return findExecutable('samba');
}

export interface SambaPaths {
  /** Provision target: etc/smb.conf, private/ (sam.ldb, the KDC's keys), state/. */
  targetDir: string;
  smbConf: string;
  logDir: string;
}

export function sambaPaths(dir: string): SambaPaths {
  const targetDir = path.join(dir, 'samba');
  return { targetDir, smbConf: path.join(targetDir, 'etc', 'smb.conf'), logDir: path.join(targetDir, 'log') };
}

/**
 * A new domain in `paths.targetDir`, KDC only, with every path Samba writes inside it (nothing
 * under /etc, /var or /run) and listening on loopback only. The Administrator password is left
 * to Samba (random): nothing here logs in as Administrator.
 */
export async function provision(
  paths: SambaPaths,
  realm: string,
  domain: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const t = paths.targetDir;
  const options = {
    'server services': 'kdc',
    'log file': `${paths.logDir}/log.%m`,
    'pid directory': `${t}/pid`,
    'ncalrpc dir': `${t}/ncalrpc`,
    'winbindd socket directory': `${t}/winbindd`,
    'ntp signd socket directory': `${t}/ntp_signd`,
    'bind interfaces only': 'yes',
    interfaces: 'lo',
    'netbios name': 'DC1',
  };
  const args = [
    'domain',
    'provision',
    `--targetdir=${t}`,
    `--realm=${realm}`,
    `--domain=${domain}`,
    '--server-role=dc',
    '--dns-backend=NONE',
    ...Object.entries(options).map(([k, v]) => `--option=${k} = ${v}`),
  ];
  await fs.mkdir(paths.logDir, { recursive: true, mode: 0o700 });
  // Provisioning writes the whole schema: 3-5 s on an idle machine, much longer on a busy one.
  await runProgram(await findExecutable('samba-tool'), 'samba-tool', args, `provisioning AD domain ${realm}`, {
    env,
    timeoutMs: 180_000,
  });
}

/** Writes the keys of each of `principals` (SPNs or account names) into `keytab`. */
export async function exportKeytab(
  paths: SambaPaths,
  keytab: string,
  principals: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const tool = await findExecutable('samba-tool');
  for (const p of principals) {
    const args = ['domain', 'exportkeytab', keytab, `--principal=${p}`, '-s', paths.smbConf];
    await runProgram(tool, 'samba-tool', args, `exporting the keys of ${p} to ${keytab}`, { env });
  }
}

/** Runs one operation of the admin program (see kAdminScript) with `input` on stdin. */
export async function sambaAdmin(
  paths: SambaPaths,
  args: readonly string[],
  what: string,
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<ToolOutput> {
  try {
    await fs.access(kPython, fsConstants.X_OK);
  } catch {
    throw realmError(`${kPython} not found: install it with: apt-get install -y python3 python3-samba`);
  }
  const opts = input === undefined ? { env, timeoutMs: 120_000 } : { env, input, timeoutMs: 120_000 };
  return runProgram(kPython, 'python3-samba', ['-c', kAdminScript, paths.smbConf, ...args], what, opts);
}
