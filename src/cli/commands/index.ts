/** Every command, in the order `agent-vault --help` lists them. */
import type { Command } from '../_command.ts';
import { agentCreate } from './agent-create.ts';
import { agentList } from './agent-list.ts';
import { agentRevoke } from './agent-revoke.ts';
import { agentRm } from './agent-rm.ts';
import { agentRotate } from './agent-rotate.ts';
import { agentShow } from './agent-show.ts';
import { agentUpdate } from './agent-update.ts';
import { audit } from './audit.ts';
import { auditVerify } from './audit-verify.ts';
import { backup, restore } from './backup.ts';
import { broker } from './broker.ts';
import { brokerKeyCreate, brokerKeyList, brokerKeyRevoke } from './broker-key.ts';
import { completion } from './completion.ts';
import { doctor } from './doctor.ts';
import { exec } from './exec.ts';
import { get } from './get.ts';
import { importCommand } from './import.ts';
import { init } from './init.ts';
import { list } from './list.ts';
import { migrate } from './migrate.ts';
import { passwd } from './passwd.ts';
import { rm } from './rm.ts';
import { serve } from './serve.ts';
import { scan } from './scan.ts';
import { set } from './set.ts';
import { status } from './status.ts';

export const COMMANDS: readonly Command[] = [
  init, status, set, get, list, rm, agentCreate, agentList, agentShow, agentUpdate, agentRotate, agentRevoke, agentRm, audit, auditVerify, exec,
  broker, brokerKeyCreate, brokerKeyRevoke, brokerKeyList, scan, importCommand, passwd, backup, restore, doctor, completion, serve, migrate,
];

/** First words that only group subcommands (`agent create`), with no command of their own. */
export const GROUPS: readonly string[] = ['agent'];
