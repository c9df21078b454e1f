ALTER TABLE "dead_letters" ADD COLUMN "redriven_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "redriven_by" text;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "redriven_by_user_id" uuid;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "redrive_seq" bigint;