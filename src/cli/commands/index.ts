/** Every command, in the order `agent-vault --help` lists them. */
import type { Command } from '../_command.ts';
import { agentCreate } from './agent-create.ts';
import { agentList } from './agent-list.ts';
import { agentRevoke } from './agent-revoke.ts';
import { agentRotate } from './agent-rotate.ts';
import { audit } from './audit.ts';
import { auditVerify } from './audit-verify.ts';
import { broker } from './broker.ts';
import { brokerKeyCreate, brokerKeyList, brokerKeyRevoke } from './broker-key.ts';
import { exec } from './exec.ts';
import { get } from './get.ts';
import { importCommand } from './import.ts';
import { init } from './init.ts';
import { list } from './list.ts';
import { migrate } from './migrate.ts';
import { rm } from './rm.ts';
import { scan } from './scan.ts';
import { set } from './set.ts';
import { status } from './status.ts';

export const COMMANDS: readonly Command[] = [
  init, status, set, get, list, rm, agentCreate, agentList, agentRevoke, agentRotate, audit, auditVerify, exec,
  broker, brokerKeyCreate, brokerKeyRevoke, brokerKeyList, scan, importCommand, migrate,
];

/** First words that only group subcommands (`agent create`), with no command of their own. */
export const GROUPS: readonly string[] = ['agent'];
