/** What templates produce, and how their placeholders are filled. */
import { camelCase, pascalCase } from './naming.ts';

/** One generated file, its path relative to the project root (`/`-separated). */
export interface TemplateFile {
  path: string;
  content: string;
}

/** The names a node template is filled with. */
export interface NodeNames {
  /** The node's name as given: its id, file name and event-type domain. */
  name: string;
  /** The project's mesh name (from happen.config.json). */
  mesh: string;
}

/** A `create-node` template. */
export interface NodeTemplate {
  readonly id: string;
  /** One line for `happen create-node --help`. */
  readonly summary: string;
  /** The event types the generated node handles, for the command's output. */
  events(name: string): string[];
  /** The module's source. */
  render(names: NodeNames): string;
}

/**
 * Fills a template's placeholders: `__name__` (the name), `__Name__` (PascalCase), `__nameCamel__`
 * (camelCase), `__NAME__` (UPPER_SNAKE, for environment variables), `__mesh__`. Templates are plain
 * text with these tokens rather than `${}` interpolation, so they read like the code they produce.
 */
export function fill(template: string, names: NodeNames): string {
  return template
    .replaceAll('__Name__', pascalCase(names.name))
    .replaceAll('__nameCamel__', camelCase(names.name))
    .replaceAll('__NAME__', names.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_'))
    .replaceAll('__name__', names.name)
    .replaceAll('__mesh__', names.mesh);
}
