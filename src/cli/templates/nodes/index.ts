/** The `create-node` templates, by id. */
import type { NodeTemplate } from '../files.ts';
import { agentTemplate } from './agent.ts';
import { apiTemplate } from './api.ts';
import { browserTemplate } from './browser.ts';
import { dbTemplate } from './db.ts';
import { webhookTemplate } from './webhook.ts';

/** Every node template, in the order help lists them. */
export const NODE_TEMPLATES: readonly NodeTemplate[] = [apiTemplate, dbTemplate, webhookTemplate, agentTemplate, browserTemplate];

/** The template ids `--template` accepts. */
export const TEMPLATE_IDS = NODE_TEMPLATES.map((t) => t.id);
