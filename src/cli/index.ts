import { Command } from 'commander';
import { exitCodes } from '../errors.js';
import { readPackageJson } from '../paths.js';
import { registerBanCommands } from './bans.js';
import { registerClusterCommand } from './cluster.js';
import { registerExplainCommand } from './explain.js';
import { registerReloadCommand } from './reload.js';

// The commands that talk to a node's admin API load only their client; the proxy, the
// settings and the Redis checks are loaded by the commands that run them.

const program = new Command('palisade')
  .description('Cluster-aware reverse proxy and WAF')
  .version(readPackageJson<{ version: string }>('package.json').version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(`palisade: ${text.replace(/^error: /, '')}`) })
  // A wrong command line is not a refusal of the API: its own exit code (EX_USAGE).
  .exitOverride((error) => {
    if (error.code === 'commander.version' || error.code === 'commander.helpDisplayed' || error.code === 'commander.help') process.exit(exitCodes.ok);
    process.exit(exitCodes.usage);
  });

program
  .command('start', { isDefault: true })
  .description('run the proxy (settings from the environment and .env)')
  .action(async () => {
    const { main } = await import('../main.js');
    await main();
  });

const config = program.command('config').description('inspect the settings');
config
  .command('check')
  .description('validate the settings and print the effective values (secrets masked); exit 0 or 78')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const { loadFromProcess } = await import('../process-settings.js');
    const { describeEffective, formatEffective } = await import('./config.js');
    const loaded = (await loadFromProcess()).result;
    if (!loaded.ok) {
      process.exitCode = exitCodes.config;
      return;
    }
    const rows = describeEffective(loaded);
    process.stdout.write(
      options.json
        ? `${JSON.stringify(Object.fromEntries(rows.map((r) => [r.name, { value: r.value, source: r.source }])), null, 2)}\n`
        : `${formatEffective(rows)}\n`,
    );
  });

program
  .command('doctor')
  .description("check the Redis this node uses against operators' advice; exit 0 ok, 1 error found, 2 unreachable")
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const { doctorCommand } = await import('./doctor.js');
    process.exitCode = await doctorCommand(options);
  });

registerBanCommands(program);
registerClusterCommand(program);
registerExplainCommand(program);
registerReloadCommand(program);

program
  .command('settings')
  .description('print every setting with its default and description')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const { settingsReference } = await import('./config.js');
    process.stdout.write(`${settingsReference(options.json ? 'json' : 'markdown')}\n`);
  });

await program.parseAsync(process.argv);
