/**
 * Moving in: finding plaintext keys (`scan`), moving them into the vault and out of their
 * sources (`import`), and putting the backups back (`import --undo`). Node-only; loaded by the
 * CLI, never by importing the core.
 */
export { detect, embeddedKeys, entropy, mask, PROVIDERS, type Provider, secretNameFor, shapeOf } from './detect.ts';
export { Finding, type FindingFields, type Removal, SOURCE_KINDS, type SourceKind } from './finding.ts';
export { scan, type ScanOptions, type ScanProblem, type ScanReport } from './scan.ts';
export { markInVault } from './compare.ts';
export { homeFiles, type HomeFile, importsDir, tokensDir } from './locations.ts';
export { MCP_AGENT_TTL, type McpAgent, mcpAgentId, mcpClientOf, withdrawMcpAgent } from './agents.ts';
export { applyImport, type ApplyOptions, type ImportPlan, type ImportResult, planImport } from './import.ts';
export { type ExecLauncher, type Move, pointerComment, rewriteLines, rewriteMcp } from './rewrite.ts';
export { fingerprint, forgetImports, type Manifest, type ManifestFile, undoImport, undoNeedsVault, type UndoResult, type WithdrawAgent, writeFileAtomic } from './backup.ts';
