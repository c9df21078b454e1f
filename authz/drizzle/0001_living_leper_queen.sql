CREATE TABLE "subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"consumer_id" uuid NOT NULL,
	"webhook_path_pattern" text NOT NULL,
	"filters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"consumer_id" uuid NOT NULL,
	"stream_seq" bigint NOT NULL,
	"endpoint_id" uuid,
	"delivery_count" integer NOT NULL,
	"reason" text NOT NULL,
	"dead_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dead_letters_consumer_seq" UNIQUE("consumer_id","stream_seq")
);
--> statement-breakpoint
ALTER TABLE "consumers" ADD COLUMN "start_policy" text DEFAULT 'all' NOT NULL;--> statement-breakpoint
ALTER TABLE "consumers" ADD COLUMN "start_time" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "consumers" ADD COLUMN "start_sequence" bigint;--> statement-breakpoint
ALTER TABLE "consumers" ADD COLUMN "max_deliver" integer;--> statement-breakpoint
ALTER TABLE "consumers" ADD COLUMN "filtered_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_consumer_id_consumers_id_fk" FOREIGN KEY ("consumer_id") REFERENCES "public"."consumers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD CONSTRAINT "dead_letters_consumer_id_consumers_id_fk" FOREIGN KEY ("consumer_id") REFERENCES "public"."consumers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "subscriptions_consumer_idx" ON "subscriptions" USING btree ("consumer_id");--> statement-breakpoint
CREATE INDEX "subscriptions_user_idx" ON "subscriptions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "dead_letters_dead_at_idx" ON "dead_letters" USING btree ("consumer_id","dead_at");--> statement-breakpoint
ALTER TABLE "consumers" ADD CONSTRAINT "consumers_start" CHECK (("consumers"."start_policy" in ('all', 'new')) or ("consumers"."start_policy" = 'time' and "consumers"."start_time" is not null) or ("consumers"."start_policy" = 'sequence' and "consumers"."start_sequence" is not null));--> statement-breakpoint
ALTER TABLE "consumers" ADD CONSTRAINT "consumers_max_deliver" CHECK ("consumers"."max_deliver" is null or "consumers"."max_deliver" >= 1);