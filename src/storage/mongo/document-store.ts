/**
 * The DocumentStore on MongoDB: one `documents` collection for every logical collection.
 *
 * Layout: `{ _id: ObjectId, collection, id, value, expiresAt?, updatedAt, keys: [{name, value}] }`.
 * - `value` is JSON text, as in the embedded store: oidc-provider payloads may carry claim
 *   names with `.` or a leading `$`, which BSON field names must not, and the text round-trips
 *   exactly.
 * - `expiresAt` is a Date under a TTL index. MongoDB deletes expired documents lazily (about
 *   once a minute), so every read also filters them out.
 * - `updatedAt` (epoch ms) strictly increases on every write of a document, which is what
 *   `replaceIf` compares.
 *
 * Atomicity: `insert`, `put` and `replaceIf` are single conditional writes (an upsert, or an
 * update filtered on the expected updatedAt). A create's uniqueness rests on the unique
 * (collection, id) index: on real MongoDB two racing inserts of one id cannot both succeed.
 * CongoDB does not enforce unique indexes; there it happens to hold only because CongoDB runs
 * each command to completion, which nothing promises (listed in test/support/stores.ts).
 */
import type { Collection, Db, Filter, ObjectId } from 'mongodb';
import type { DocumentCollection, DocumentStore, PutOptions, StoredDocument } from '../document-store.js';
import { COLLECTIONS } from './indexes.js';
import { isDuplicateKey } from './transactions.js';

interface DocumentDoc {
  _id?: ObjectId;
  collection: string;
  id: string;
  value: string;
  expiresAt?: Date;
  updatedAt: number;
  keys: Array<{ name: string; value: string }>;
}

/** Conditional writes retried when another writer changed the document in between. */
const MAX_ATTEMPTS = 12;

/** The DocumentStore port on MongoDB (src/storage/document-store.ts); indexes come from indexes.ts. */
export class MongoDocumentStore implements DocumentStore {
  readonly #documents: Collection<DocumentDoc>;

  constructor(db: Db) {
    this.#documents = db.collection<DocumentDoc>(COLLECTIONS.documents);
  }

  collection<T = unknown>(name: string): DocumentCollection<T> {
    return new MongoCollection<T>(this.#documents, name);
  }

  async sweepExpired(): Promise<number> {
    const result = await this.#documents.deleteMany({ expiresAt: { $lte: new Date() } });
    return result.deletedCount;
  }
}

class MongoCollection<T> implements DocumentCollection<T> {
  constructor(
    private readonly documents: Collection<DocumentDoc>,
    private readonly name: string,
  ) {}

  async get(id: string): Promise<T | undefined> {
    return (await this.getStored(id))?.value;
  }

  async getStored(id: string): Promise<StoredDocument<T> | undefined> {
    const doc = await this.documents.findOne(this.#live({ id }));
    return doc ? toStored<T>(doc) : undefined;
  }

  async put(id: string, value: T, options: PutOptions = {}): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const previous = await this.documents.findOne({ collection: this.name, id }, { projection: { updatedAt: 1 } });
      if (previous) {
        if (await this.#replace(id, previous.updatedAt, value, options, {})) return;
      } else if (await this.#create(id, value, options)) {
        return;
      }
    }
    throw new Error(`Document ${this.name}/${id} kept changing while being written`);
  }

  async insert(id: string, value: T, options: PutOptions = {}): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (await this.#create(id, value, options)) return true;
      // It exists: it may only be replaced when expired.
      const previous = await this.documents.findOne({ collection: this.name, id }, { projection: { updatedAt: 1, expiresAt: 1 } });
      if (!previous) continue;
      if (!previous.expiresAt || previous.expiresAt.getTime() > Date.now()) return false;
      if (await this.#replace(id, previous.updatedAt, value, options, { expiresAt: { $lte: new Date() } })) return true;
    }
    return false;
  }

  async replaceIf(id: string, expectedUpdatedAt: number, value: T, options: PutOptions = {}): Promise<boolean> {
    return this.#replace(id, expectedUpdatedAt, value, options, this.#liveClause());
  }

  async take(id: string): Promise<T | undefined> {
    const doc = await this.documents.findOneAndDelete({ collection: this.name, id });
    if (!doc || isExpired(doc)) return undefined;
    return JSON.parse(doc.value) as T;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.documents.deleteOne({ collection: this.name, id });
    return result.deletedCount > 0;
  }

  async findByKey(key: string, value: string): Promise<Array<StoredDocument<T>>> {
    const docs = await this.documents
      .find(this.#live({ keys: { $elemMatch: { name: key, value } } }))
      .sort({ updatedAt: -1, _id: -1 })
      .toArray();
    return docs.map((d) => toStored<T>(d));
  }

  async deleteByKey(key: string, value: string): Promise<number> {
    const result = await this.documents.deleteMany({ collection: this.name, keys: { $elemMatch: { name: key, value } } });
    return result.deletedCount;
  }

  async list(options: { limit?: number; key?: { name: string; value: string } } = {}): Promise<Array<StoredDocument<T>>> {
    if (options.key) {
      const found = await this.findByKey(options.key.name, options.key.value);
      return options.limit ? found.slice(0, options.limit) : found;
    }
    let cursor = this.documents.find(this.#live({})).sort({ updatedAt: -1, _id: -1 });
    if (options.limit) cursor = cursor.limit(options.limit);
    return (await cursor.toArray()).map((d) => toStored<T>(d));
  }

  async count(): Promise<number> {
    return this.documents.countDocuments(this.#live({}));
  }

  /** Creates the document if no document (live or expired) has the id; false otherwise. */
  async #create(id: string, value: T, options: PutOptions): Promise<boolean> {
    try {
      const result = await this.documents.updateOne(
        { collection: this.name, id },
        { $setOnInsert: this.#fields(id, value, options, Date.now()) },
        { upsert: true },
      );
      return result.upsertedCount === 1;
    } catch (error) {
      // Two upserts raced on the unique index; the other one created it.
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Replaces the document if its updatedAt is still `expected` (and `extra` holds). */
  async #replace(id: string, expected: number, value: T, options: PutOptions, extra: Filter<DocumentDoc>): Promise<boolean> {
    const updatedAt = Math.max(Date.now(), expected + 1);
    const fields = this.#fields(id, value, options, updatedAt);
    const update = fields.expiresAt ? { $set: fields } : { $set: fields, $unset: { expiresAt: '' as const } };
    const result = await this.documents.updateOne({ collection: this.name, id, updatedAt: expected, ...extra }, update);
    return result.matchedCount === 1;
  }

  #fields(id: string, value: T, options: PutOptions, updatedAt: number): DocumentDoc {
    const doc: DocumentDoc = {
      collection: this.name,
      id,
      value: JSON.stringify(value),
      updatedAt,
      keys: Object.entries(options.keys ?? {})
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([name, keyValue]) => ({ name, value: keyValue })),
    };
    if (options.expiresAt !== undefined) doc.expiresAt = new Date(options.expiresAt);
    return doc;
  }

  #liveClause(): Filter<DocumentDoc> {
    // `expiresAt: null` also matches documents without the field.
    return { $or: [{ expiresAt: null as never }, { expiresAt: { $gt: new Date() } }] };
  }

  #live(filter: Filter<DocumentDoc>): Filter<DocumentDoc> {
    return { collection: this.name, ...filter, ...this.#liveClause() };
  }
}

function isExpired(doc: DocumentDoc): boolean {
  return doc.expiresAt !== undefined && doc.expiresAt !== null && doc.expiresAt.getTime() <= Date.now();
}

function toStored<T>(doc: DocumentDoc): StoredDocument<T> {
  const stored: StoredDocument<T> = {
    id: doc.id,
    value: JSON.parse(doc.value) as T,
    keys: Object.fromEntries(doc.keys.map((k) => [k.name, k.value])),
    updatedAt: doc.updatedAt,
  };
  if (doc.expiresAt) stored.expiresAt = doc.expiresAt.getTime();
  return stored;
}
